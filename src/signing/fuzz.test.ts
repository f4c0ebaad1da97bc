// Fuzz-style tests: seeded mutations of bundles (bytes, truncation, JSON structure) and of the
// signed statement itself (re-signed, so the parser behind the signature check is exercised).
// Each verification must end in a result or a coded RampartError — never a crash, never a hang —
// and must never succeed unless the signed content is unchanged.
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRampartError } from '../core/errors.js';
import { parseBundle } from './bundle.js';
import { pae, IN_TOTO_PAYLOAD_TYPE } from './dsse.js';
import { signModel } from './sign.js';
import { verifyModel, type VerifyResult } from './verify.js';
import { KEYS, tempDir, VECTORS } from './testing/vectors.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));
const work = tempDir('rampart-sigfuzz-');
cleanups.push(work.cleanup);

/** mulberry32: small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PRIV = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const PUB = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string);

const model = path.join(work.dir, 'model');
mkdirSync(path.join(model, 'sub'), { recursive: true });
writeFileSync(path.join(model, 'a.bin'), 'alpha weights');
writeFileSync(path.join(model, 'sub', 'b.bin'), 'beta weights');
const sigPath = path.join(work.dir, 'model.sig');
const mutatedPath = path.join(work.dir, 'mutated.sig');

function signedIdentity(text: string): string | undefined {
  try {
    const b = parseBundle(text);
    const m = b.material;
    // The key hint is not signed and not trusted (the given key is), so it is not part of the identity.
    const mat = m.kind === 'publicKey' ? 'k' : m.kind === 'chain' ? `c:${m.certificates.map((c) => c.toString('hex')).join(',')}` : 'keyless';
    return `${b.envelope.payload.toString('hex')}|${b.envelope.payloadType}|${b.envelope.signatures[0]!.sig.toString('hex')}|${mat}`;
  } catch {
    return undefined;
  }
}

async function check(
  text: string,
  trust: { publicKey?: Buffer; caPem?: Buffer },
  original: string | ((text: string) => void),
  modelPath = model,
  extra = {},
): Promise<VerifyResult | 'error'> {
  writeFileSync(mutatedPath, text);
  let r: VerifyResult;
  try {
    r = await verifyModel({ modelPath, signaturePath: mutatedPath, ...trust, ...extra });
  } catch (err) {
    expect(isRampartError(err), `non-coded error: ${String(err)}`).toBe(true);
    return 'error';
  }
  if (r.ok) {
    if (typeof original === 'function') original(text);
    else expect(signedIdentity(text), 'a mutated bundle verified').toBe(signedIdentity(original));
  }
  else expect(r.code).toMatch(/^RAMPART_ERR_VERIFY_/);
  return r;
}

const JUNK: unknown[] = [null, 0, -1, 1e308, '', 'x', '=', 'AAAA', [], {}, [[]], { a: 1 }, true, 'a'.repeat(5000)];

function mutateJson(value: unknown, rand: () => number): unknown {
  const clone = structuredClone(value) as Record<string, unknown>;
  const paths: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        paths.push([v, i]);
        walk(x);
      });
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        paths.push([v as Record<string, unknown>, k]);
        walk((v as Record<string, unknown>)[k]);
      }
    }
  };
  walk(clone);
  const [parent, key] = paths[Math.floor(rand() * paths.length)]!;
  const op = rand();
  if (op < 0.3) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key as string];
  } else if (op < 0.8) {
    (parent as Record<string | number, unknown>)[key] = JUNK[Math.floor(rand() * JUNK.length)];
  } else {
    const cur = (parent as Record<string | number, unknown>)[key];
    if (typeof cur === 'string' && cur.length > 0) {
      const i = Math.floor(rand() * cur.length);
      (parent as Record<string | number, unknown>)[key] = cur.slice(0, i) + String.fromCharCode(33 + Math.floor(rand() * 90)) + cur.slice(i + 1);
    } else if (Array.isArray(parent)) parent.push(structuredClone(parent[0]));
  }
  return clone;
}

describe('bundle fuzzing', () => {
  it('byte flips, truncations and structural mutations of an own bundle never crash or falsely verify', async () => {
    await signModel({ modelPath: model, privateKeyPem: PRIV, signaturePath: sigPath });
    const original = readFileSync(sigPath, 'utf8');
    const json = JSON.parse(original);
    const rand = rng(20261128);
    let failures = 0;
    for (let i = 0; i < 300; i++) {
      let text: string;
      const kind = i % 3;
      if (kind === 0) {
        const b = Buffer.from(original);
        const n = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < n; j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        text = b.toString('latin1');
      } else if (kind === 1) text = original.slice(0, Math.floor(rand() * original.length));
      else text = JSON.stringify(mutateJson(json, rand));
      const r = await check(text, { publicKey: PUB }, original);
      if (r === 'error' || !r.ok) failures++;
    }
    // Nearly every mutation must be refused (a few touch only unsigned fields, e.g. keyid).
    expect(failures).toBeGreaterThan(250);
  });

  it('structural mutations of reference bundles never crash or falsely verify', async () => {
    const rand = rng(7);
    for (const [name, trust] of [
      ['v1.1.0-elliptic-key', { publicKey: readFileSync(path.join(KEYS, 'signing-key-pub.pem')) }],
      ['v1.0.1-certificate', { caPem: readFileSync(path.join(KEYS, 'ca-cert.pem')) }],
      ['v1.1.0-sigstore', { publicKey: readFileSync(path.join(KEYS, 'signing-key-pub.pem')) }],
    ] as const) {
      const original = readFileSync(path.join(VECTORS, name, 'model.sig'), 'utf8');
      const json = JSON.parse(original);
      for (let i = 0; i < 60; i++) {
        await check(JSON.stringify(mutateJson(json, rand)), trust, original, path.join(VECTORS, name), { ignorePaths: [path.join(VECTORS, name, 'ignore-me')] });
      }
    }
  });

  it('hostile statements behind a valid signature are refused with codes, never crash', async () => {
    await signModel({ modelPath: model, privateKeyPem: PRIV, signaturePath: sigPath });
    const bundle = JSON.parse(readFileSync(sigPath, 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    const originalItems = JSON.stringify(statement.predicate.resources);
    const resign = (stmt: unknown): string => {
      const payload = Buffer.from(typeof stmt === 'string' ? stmt : JSON.stringify(stmt));
      const sig = cryptoSign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, payload), { key: privateKey, dsaEncoding: 'der' });
      return JSON.stringify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: payload.toString('base64'), signatures: [{ sig: sig.toString('base64'), keyid: '' }] } });
    };
    const hostile: unknown[] = [
      'not json',
      '[]',
      { ...statement, _type: 'https://in-toto.io/Statement/v0.1' },
      { ...statement, predicateType: 'https://model_signing/signature/v2.0' },
      { ...statement, subject: [] },
      { ...statement, predicate: { ...statement.predicate, resources: [] } },
      { ...statement, predicate: { ...statement.predicate, serialization: { ...statement.predicate.serialization, method: 'tensors' } } },
      { ...statement, predicate: { ...statement.predicate, serialization: { ...statement.predicate.serialization, hash_type: 'md5' } } },
      { ...statement, predicate: { ...statement.predicate, serialization: { ...statement.predicate.serialization, method: 'shards', shard_size: 1 } } },
      { ...statement, predicate: { ...statement.predicate, serialization: { ...statement.predicate.serialization, ignore_paths: ['.', '..', '/etc', 'a.bin'] } } },
      { ...statement, predicate: { ...statement.predicate, resources: [{ name: '../outside', algorithm: 'sha256', digest: 'a'.repeat(64) }] } },
      { ...statement, predicate: { ...statement.predicate, resources: [...statement.predicate.resources, statement.predicate.resources[0]] } },
    ];
    const rand = rng(99);
    for (let i = 0; i < 60; i++) hostile.push(mutateJson(statement, rand));
    // Only harmless edits (the model name, an extra field, key order) may still verify: the signed
    // resources must then be exactly the original ones.
    const sameResources = (text: string): void => {
      const parsed = JSON.parse(Buffer.from(JSON.parse(text).dsseEnvelope.payload, 'base64').toString());
      expect(JSON.stringify(parsed.predicate.resources)).toBe(originalItems);
    };
    for (const h of hostile) await check(resign(h), { publicKey: PUB }, sameResources);
  });
});
