// Computes the envelope test vectors printed in docs/encryption.md (and checked against it by
// src/crypto/envelope/vectors.test.ts). Inputs are fixed byte patterns, so anyone can recompute
// them with another implementation. Not part of the build.
import { createHash } from 'node:crypto';
import { IterableByteReader } from '../envelope/byte-reader.js';
import { sealingStateFrom, sealSegments } from '../envelope/envelope.js';
import { deriveFileKeys, parseHeaderBytes } from '../envelope/format.js';

export interface VectorInputs {
  name: string;
  dataKey: Buffer;
  salt: Buffer;
  noncePrefix: Buffer;
  segmentSize: number;
  artifactId: string;
  provider: string;
  keyRef: string;
  keyVersion: string;
  wrappedKey: Buffer;
  plaintext: Buffer;
}

export function pattern(start: number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (start + i) & 0xff));
}

export const VECTOR_INPUTS: VectorInputs[] = [
  { name: 'A', plaintext: Buffer.alloc(0), artifactId: '', keyVersion: '1' },
  { name: 'B', plaintext: Buffer.from('Rampart envelope test vector\n', 'utf8'), artifactId: 'model-42', keyVersion: '3' },
  { name: 'C', plaintext: pattern(0, 2500), artifactId: 'model-42', keyVersion: '3' },
].map((v) => ({
  ...v,
  dataKey: pattern(0x00, 32),
  salt: pattern(0x20, 32),
  noncePrefix: pattern(0x40, 7),
  segmentSize: 1024,
  provider: 'local',
  keyRef: 'models',
  wrappedKey: pattern(0xa0, 60),
}));

export interface VectorOutputs {
  kPayload: string;
  kMac: string;
  commitment: string;
  coreSha256: string;
  header: string;
  segments: { nonce: string; tag: string }[];
  ciphertext: string;
  ciphertextSha256: string;
}

export async function computeVector(v: VectorInputs): Promise<VectorOutputs> {
  const state = sealingStateFrom({ ...v, aad: Buffer.from(v.artifactId, 'utf8') });
  const parts: Buffer[] = [];
  for await (const bufs of sealSegments(new IterableByteReader([v.plaintext]), state)) parts.push(...bufs);
  const ct = Buffer.concat(parts);
  const keys = deriveFileKeys(v.dataKey, v.salt);
  const h = await parseHeaderBytes(ct);
  const n = Math.max(1, Math.ceil(v.plaintext.length / v.segmentSize));
  const segments = Array.from({ length: n }, (_, i) => {
    const end = Math.min(h.raw.length + (i + 1) * (v.segmentSize + 16), ct.length);
    return { nonce: state.cipher.nonce(i, i === n - 1).toString('hex'), tag: ct.subarray(end - 16, end).toString('hex') };
  });
  return {
    kPayload: keys.payload.toString('hex'),
    kMac: keys.mac.toString('hex'),
    commitment: keys.commitment.toString('hex'),
    coreSha256: h.coreHash.toString('hex'),
    header: h.raw.toString('hex'),
    segments,
    ciphertext: ct.toString('hex'),
    ciphertextSha256: createHash('sha256').update(ct).digest('hex'),
  };
}

function wrapHex(hex: string, width = 64): string[] {
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += width) out.push(hex.slice(i, i + width));
  return out;
}

/** The text block for one vector, as printed in the docs. */
export async function renderVector(v: VectorInputs): Promise<string> {
  const o = await computeVector(v);
  const lines = [
    `vector: ${v.name}`,
    `data-key: ${v.dataKey.toString('hex')}`,
    `salt: ${v.salt.toString('hex')}`,
    `nonce-prefix: ${v.noncePrefix.toString('hex')}`,
    `segment-size: ${v.segmentSize}`,
    `artifact-id: ${v.artifactId === '' ? '(none)' : v.artifactId}`,
    `provider: ${v.provider}`,
    `key-ref: ${v.keyRef}`,
    `key-version: ${v.keyVersion}`,
    `wrapped-key: ${v.wrappedKey.toString('hex')}`,
    v.plaintext.length > 64 ? `plaintext: byte i = i mod 256, ${v.plaintext.length} bytes` : `plaintext: ${v.plaintext.length === 0 ? '(empty)' : v.plaintext.toString('hex')}`,
    `k-payload: ${o.kPayload}`,
    `k-mac: ${o.kMac}`,
    `commitment: ${o.commitment}`,
    `core-sha256: ${o.coreSha256}`,
    ...o.segments.flatMap((s, i) => [`segment-${i}-nonce: ${s.nonce}`, `segment-${i}-tag: ${s.tag}`]),
    ...(v.plaintext.length > 64 ? [`header:`, ...wrapHex(o.header).map((l) => `  ${l}`)] : [`ciphertext:`, ...wrapHex(o.ciphertext).map((l) => `  ${l}`)]),
    `ciphertext-sha256: ${o.ciphertextSha256}`,
  ];
  return lines.join('\n');
}
