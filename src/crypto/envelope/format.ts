// The Rampart envelope format, version 1: header layout, parsing of untrusted header bytes, and
// the per-file key schedule. The byte-by-byte description with test vectors is docs/encryption.md;
// keep the two in step (envelope.test.ts checks the vectors printed there).
//
// The header has two parts. The *core* (magic .. artifact id) never changes for the life of the
// file; every segment's AAD is SHA-256(core), so segments cannot move to another file. The *key
// block* (provider, key reference, key version, wrapped data key) changes on rewrap, so it is
// covered by a header MAC keyed from the data key instead; rewrap recomputes the MAC.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { CryptoHeaderInvalidError, CryptoHeaderTamperedError, CryptoNotEncryptedError, CryptoUnsupportedVersionError } from '../errors.js';

export const MAGIC = Buffer.from('RMPE', 'ascii');
export const FORMAT_VERSION = 1;
/** Suite 1: AES-256-GCM segments, HKDF-SHA-256 key schedule, HMAC-SHA-256 header MAC. */
export const SUITE_AES256GCM_HKDF_SHA256 = 1;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MIN_SEGMENT_SIZE = 1024;
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
export const TAG_LENGTH = 16;
export const SALT_LENGTH = 32;
export const NONCE_PREFIX_LENGTH = 7;
export const COMMITMENT_LENGTH = 32;
export const MAC_LENGTH = 32;
export const MAX_AAD_LENGTH = 1024;
export const MAX_PROVIDER_LENGTH = 64;
export const MAX_KEYREF_LENGTH = 2048;
export const MAX_KEYVERSION_LENGTH = 2048;
export const MAX_WRAPPED_LENGTH = 4096;
/** Bytes before the variable-length artifact id. */
export const FIXED_PREFIX_LENGTH = 4 + 1 + 1 + 4 + SALT_LENGTH + NONCE_PREFIX_LENGTH + COMMITMENT_LENGTH + 2; // 83
/** The largest header the limits above allow. */
export const MAX_HEADER_LENGTH =
  FIXED_PREFIX_LENGTH + MAX_AAD_LENGTH + 1 + MAX_PROVIDER_LENGTH + 2 + MAX_KEYREF_LENGTH + 2 + MAX_KEYVERSION_LENGTH + 2 + MAX_WRAPPED_LENGTH + MAC_LENGTH;
/** What envelope v1 binds into every wrapped data key (local keyring AAD, KMS EncryptionContext). */
export const WRAP_CONTEXT = Object.freeze({ purpose: 'rampart-envelope-v1' });

export interface HeaderFields {
  segmentSize: number;
  salt: Buffer;
  noncePrefix: Buffer;
  commitment: Buffer;
  /** Associated data bound to the file (the artifact id, UTF-8); empty when none. */
  aad: Buffer;
  provider: string;
  keyRef: string;
  keyVersion: string;
  wrappedKey: Buffer;
}

export interface ParsedHeader extends HeaderFields {
  version: number;
  suite: number;
  mac: Buffer;
  /** The core bytes (offset 0 up to the end of the artifact id). */
  core: Buffer;
  /** SHA-256 of the core: the AAD of every segment. */
  coreHash: Buffer;
  /** Every header byte, MAC included. */
  raw: Buffer;
}

export interface FileKeys {
  payload: Buffer;
  mac: Buffer;
  commitment: Buffer;
}

/** HKDF-SHA-256(ikm = data key, salt = header salt, info = "rampart-envelope-v1 " + label). */
export function deriveFileKeys(dataKey: Buffer, salt: Buffer): FileKeys {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', dataKey, salt, Buffer.from(`rampart-envelope-v1 ${label}`, 'ascii'), 32));
  return { payload: derive('payload'), mac: derive('header-mac'), commitment: derive('commitment') };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function checkLen(what: string, n: number, min: number, max: number): void {
  if (n < min || n > max) throw new CryptoHeaderInvalidError(`${what} length ${n} outside ${min}..${max}`);
}

/** Serialises the core part of a header. */
export function encodeCore(f: Pick<HeaderFields, 'segmentSize' | 'salt' | 'noncePrefix' | 'commitment' | 'aad'>): Buffer {
  checkLen('artifact id', f.aad.length, 0, MAX_AAD_LENGTH);
  if (f.segmentSize < MIN_SEGMENT_SIZE || f.segmentSize > MAX_SEGMENT_SIZE) throw new CryptoHeaderInvalidError(`segment size ${f.segmentSize} outside ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`);
  const seg = Buffer.alloc(4);
  seg.writeUInt32BE(f.segmentSize);
  return Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, SUITE_AES256GCM_HKDF_SHA256]), seg, f.salt, f.noncePrefix, f.commitment, u16(f.aad.length), f.aad]);
}

/** Serialises the key block (without the MAC). */
export function encodeKeyBlock(f: Pick<HeaderFields, 'provider' | 'keyRef' | 'keyVersion' | 'wrappedKey'>): Buffer {
  const provider = Buffer.from(f.provider, 'utf8');
  const keyRef = Buffer.from(f.keyRef, 'utf8');
  const keyVersion = Buffer.from(f.keyVersion, 'utf8');
  checkLen('provider id', provider.length, 1, MAX_PROVIDER_LENGTH);
  checkLen('key reference', keyRef.length, 1, MAX_KEYREF_LENGTH);
  checkLen('key version', keyVersion.length, 0, MAX_KEYVERSION_LENGTH);
  checkLen('wrapped key', f.wrappedKey.length, 1, MAX_WRAPPED_LENGTH);
  return Buffer.concat([Buffer.from([provider.length]), provider, u16(keyRef.length), keyRef, u16(keyVersion.length), keyVersion, u16(f.wrappedKey.length), f.wrappedKey]);
}

export function headerMac(macKey: Buffer, core: Buffer, keyBlock: Buffer): Buffer {
  return createHmac('sha256', macKey).update(core).update(keyBlock).digest();
}

/** A complete header: core || key block || HMAC-SHA-256(K_mac, core || key block). */
export function encodeHeader(f: HeaderFields, macKey: Buffer): Buffer {
  const core = encodeCore(f);
  const keyBlock = encodeKeyBlock(f);
  return Buffer.concat([core, keyBlock, headerMac(macKey, core, keyBlock)]);
}

/**
 * Reads a header from untrusted bytes. `read(n)` must return exactly n bytes, or fewer only at
 * the end of the input. Throws a coded error for anything malformed; never trusts a length it has
 * not bounded first.
 */
export async function readHeader(read: (n: number) => Promise<Buffer>, onShort: (where: string) => Error): Promise<ParsedHeader> {
  const parts: Buffer[] = [];
  const take = async (n: number, where: string): Promise<Buffer> => {
    const b = n === 0 ? Buffer.alloc(0) : await read(n);
    if (b.length < n) {
      // Input that does not even start with the magic is simply not one of ours.
      if (parts.length === 0) {
        const m = Math.min(4, b.length);
        if (b.length === 0 || !b.subarray(0, m).equals(MAGIC.subarray(0, m))) throw new CryptoNotEncryptedError('the input is too short to be a Rampart encrypted file');
      }
      throw onShort(where);
    }
    parts.push(b);
    return b;
  };
  const fixed = await take(FIXED_PREFIX_LENGTH, 'header');
  if (!fixed.subarray(0, 4).equals(MAGIC)) throw new CryptoNotEncryptedError();
  const version = fixed[4]!;
  const suite = fixed[5]!;
  if (version !== FORMAT_VERSION) throw new CryptoUnsupportedVersionError(`unsupported envelope format version ${version} (this Rampart reads version ${FORMAT_VERSION})`, { details: { version } });
  if (suite !== SUITE_AES256GCM_HKDF_SHA256) throw new CryptoUnsupportedVersionError(`unsupported cipher suite ${suite}`, { details: { suite } });
  const segmentSize = fixed.readUInt32BE(6);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) throw new CryptoHeaderInvalidError(`segment size ${segmentSize} outside ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`);
  let o = 10;
  const salt = fixed.subarray(o, (o += SALT_LENGTH));
  const noncePrefix = fixed.subarray(o, (o += NONCE_PREFIX_LENGTH));
  const commitment = fixed.subarray(o, (o += COMMITMENT_LENGTH));
  const aadLen = fixed.readUInt16BE(o);
  checkLen('artifact id', aadLen, 0, MAX_AAD_LENGTH);
  const aad = await take(aadLen, 'artifact id');
  const core = Buffer.concat(parts);

  const pLen = (await take(1, 'provider id'))[0]!;
  checkLen('provider id', pLen, 1, MAX_PROVIDER_LENGTH);
  const provider = (await take(pLen, 'provider id')).toString('utf8');
  const kLen = (await take(2, 'key reference')).readUInt16BE(0);
  checkLen('key reference', kLen, 1, MAX_KEYREF_LENGTH);
  const keyRef = (await take(kLen, 'key reference')).toString('utf8');
  const vLen = (await take(2, 'key version')).readUInt16BE(0);
  checkLen('key version', vLen, 0, MAX_KEYVERSION_LENGTH);
  const keyVersion = (await take(vLen, 'key version')).toString('utf8');
  const wLen = (await take(2, 'wrapped key')).readUInt16BE(0);
  checkLen('wrapped key', wLen, 1, MAX_WRAPPED_LENGTH);
  const wrappedKey = await take(wLen, 'wrapped key');
  const mac = await take(MAC_LENGTH, 'header MAC');
  const raw = Buffer.concat(parts);
  return {
    version,
    suite,
    segmentSize,
    salt: Buffer.from(salt),
    noncePrefix: Buffer.from(noncePrefix),
    commitment: Buffer.from(commitment),
    aad: Buffer.from(aad),
    provider,
    keyRef,
    keyVersion,
    wrappedKey: Buffer.from(wrappedKey),
    mac: Buffer.from(mac),
    core,
    coreHash: createHash('sha256').update(core).digest(),
    raw,
  };
}

/** Parses a header held entirely in memory (tests, tools). */
export function parseHeaderBytes(bytes: Buffer): Promise<ParsedHeader> {
  let o = 0;
  return readHeader(
    async (n) => {
      const b = bytes.subarray(o, o + n);
      o += b.length;
      return b;
    },
    () => new CryptoHeaderInvalidError('the header is truncated'),
  );
}

/**
 * Checks that `dataKey` belongs to this header: first the key commitment (a wrong data key or an
 * edited salt/commitment), then the MAC over the whole header (any other edit). Returns the keys.
 */
export function verifyHeader(h: ParsedHeader, dataKey: Buffer): FileKeys {
  const keys = deriveFileKeys(dataKey, h.salt);
  if (!timingSafeEqual(keys.commitment, h.commitment)) {
    throw new CryptoHeaderTamperedError('the data key does not match the key commitment in the header (the header was edited)', { details: { check: 'commitment' } });
  }
  const keyBlock = h.raw.subarray(h.core.length, h.raw.length - MAC_LENGTH);
  const want = headerMac(keys.mac, h.core, keyBlock);
  if (!timingSafeEqual(want, h.mac)) throw new CryptoHeaderTamperedError('the header MAC does not match (the header was edited)', { details: { check: 'mac' } });
  return keys;
}
