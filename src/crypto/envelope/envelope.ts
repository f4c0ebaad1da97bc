// Streaming envelope encryption and decryption over any byte source: sets up the per-file keys
// (fresh data key from the provider, random salt and nonce prefix), then seals or opens segments
// block by block. Memory stays constant (two read blocks and one block of output), whatever the
// input size. Consumers pull, so a slow consumer slows reading (backpressure).
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from '../../core/logger.js';
import { InternalError } from '../../core/errors.js';
import { CryptoAadMismatchError, CryptoCorruptedError, CryptoTrailingDataError, CryptoTruncatedError, CryptoWrongKeyError } from '../errors.js';
import { ProviderSet } from '../providers/provider-set.js';
import { parseKeyRef } from '../providers/registry.js';
import type { ProviderOptions } from '../providers/types.js';
import { IterableByteReader, type ByteReader, type ByteSource } from './byte-reader.js';
import {
  DEFAULT_SEGMENT_SIZE,
  deriveFileKeys,
  encodeCore,
  encodeKeyBlock,
  headerMac,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  NONCE_PREFIX_LENGTH,
  readHeader,
  SALT_LENGTH,
  TAG_LENGTH,
  verifyHeader,
  WRAP_CONTEXT,
  type ParsedHeader,
} from './format.js';
import { MAX_SEGMENTS, SegmentCipher, sealedLength } from './segments.js';
import { UsageError } from '../../core/errors.js';

/** Read granularity: about 1 MiB of whole segments, to keep per-call overheads small. */
const BLOCK_TARGET = 1024 * 1024;

export interface ProviderChoice {
  /** Providers to use (shared across many files); created from providerOptions when absent. */
  providers?: ProviderSet;
  providerOptions?: ProviderOptions;
  logger?: Logger;
}

export interface EncryptOptions extends ProviderChoice {
  /** PROVIDER:KEY, e.g. `local:models` or `aws-kms:alias/models`. */
  key: string;
  /** Artifact id bound to the file as associated data (checked on decryption when given). */
  artifactId?: string;
  /** Plaintext bytes per segment (default 64 KiB). */
  segmentSize?: number;
  /** Worker threads sealing segments of files of at least 8 MiB (default 1: this thread only). */
  jobs?: number;
}

export interface DecryptOptions extends ProviderChoice {
  /** When set, decryption fails unless the file was encrypted with this artifact id. */
  artifactId?: string;
}

/** Everything needed to seal segments once the header is written. */
export interface SealingState {
  header: Buffer;
  segmentSize: number;
  cipher: SegmentCipher;
}

export interface OpeningState {
  header: ParsedHeader;
  cipher: SegmentCipher;
}

/** Runs `fn` with a ProviderSet, closing it afterwards only if this call created it. */
export async function withProviders<T>(choice: ProviderChoice, fn: (p: ProviderSet) => Promise<T>): Promise<T> {
  if (choice.providers) return fn(choice.providers);
  const set = new ProviderSet({ ...choice.providerOptions, ...(choice.logger ? { logger: choice.logger } : {}) });
  try {
    return await fn(set);
  } finally {
    await set.close();
  }
}

export interface SealInputs {
  dataKey: Buffer;
  wrappedKey: Buffer;
  provider: string;
  keyRef: string;
  keyVersion: string;
  salt: Buffer;
  noncePrefix: Buffer;
  segmentSize: number;
  aad: Buffer;
}

/** Deterministic setup from explicit inputs (test vectors use this directly). */
export function sealingStateFrom(i: SealInputs): SealingState {
  const keys = deriveFileKeys(i.dataKey, i.salt);
  const core = encodeCore({ segmentSize: i.segmentSize, salt: i.salt, noncePrefix: i.noncePrefix, commitment: keys.commitment, aad: i.aad });
  const keyBlock = encodeKeyBlock(i);
  const header = Buffer.concat([core, keyBlock, headerMac(keys.mac, core, keyBlock)]);
  const coreHash = createHash('sha256').update(core).digest();
  const cipher = new SegmentCipher(keys.payload, i.noncePrefix, coreHash);
  keys.payload.fill(0);
  keys.mac.fill(0);
  return { header, segmentSize: i.segmentSize, cipher };
}

/** The header alone, for inputs whose cipher already exists (see prepareSealingEarly). */
function headerFrom(i: SealInputs): Buffer {
  const keys = deriveFileKeys(i.dataKey, i.salt);
  try {
    const core = encodeCore({ segmentSize: i.segmentSize, salt: i.salt, noncePrefix: i.noncePrefix, commitment: keys.commitment, aad: i.aad });
    const keyBlock = encodeKeyBlock(i);
    return Buffer.concat([core, keyBlock, headerMac(keys.mac, core, keyBlock)]);
  } finally {
    keys.payload.fill(0);
    keys.mac.fill(0);
  }
}

/** Sealing started before the data key is wrapped: see prepareSealingEarly(). */
export interface EarlySealing {
  /** Its header is provisional (a zero wrapped key); only its length and cipher are final. */
  state: SealingState;
  /**
   * The final header, once the provider has wrapped the data key. Its length differs from
   * state.header's only if the key changed in between (a rotation): segments then move.
   */
  header: Promise<Buffer>;
}

function checkSegmentSize(n: number): number {
  if (!Number.isInteger(n) || n < MIN_SEGMENT_SIZE || n > MAX_SEGMENT_SIZE) throw new UsageError(`segment size must be an integer between ${MIN_SEGMENT_SIZE} and ${MAX_SEGMENT_SIZE}`);
  return n;
}

/** Asks the provider for a fresh data key and builds the header. */
export async function prepareSealing(opts: EncryptOptions, providers: ProviderSet): Promise<SealingState> {
  const segmentSize = checkSegmentSize(opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
  const ref = parseKeyRef(opts.key);
  const aad = Buffer.from(opts.artifactId ?? '', 'utf8');
  const dk = await providers.get(ref.provider).generateDataKey(ref.keyRef, WRAP_CONTEXT);
  if (dk.plaintext.length !== 32) throw new InternalError(`provider ${ref.provider} returned a ${dk.plaintext.length}-byte data key`);
  try {
    return sealingStateFrom({
      dataKey: dk.plaintext,
      wrappedKey: dk.wrapped,
      provider: ref.provider,
      keyRef: ref.keyRef,
      keyVersion: dk.keyVersion,
      salt: randomBytes(SALT_LENGTH),
      noncePrefix: randomBytes(NONCE_PREFIX_LENGTH),
      segmentSize,
      aad,
    });
  } finally {
    dk.plaintext.fill(0);
  }
}

/**
 * Like prepareSealing(), without waiting for the key provider: the segments of a file depend only
 * on the data key, salt, nonce prefix, segment size and artifact id, not on the wrapped key, so
 * they can be sealed while the provider is still unlocking its key (the local keyring's scrypt
 * takes a few hundred milliseconds of a thread-pool thread). The data key is generated here and
 * handed to provider.wrap(), as generateDataKey() would. Null when the provider cannot tell the
 * wrapped key's version and length beforehand (peekWrap), i.e. where the segments will start.
 * If wrapping fails (wrong passphrase), the caller discards what it sealed.
 */
export async function prepareSealingEarly(opts: EncryptOptions, providers: ProviderSet): Promise<EarlySealing | null> {
  const segmentSize = checkSegmentSize(opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
  const ref = parseKeyRef(opts.key);
  const provider = providers.get(ref.provider);
  const peek = provider.peekWrap ? await provider.peekWrap(ref.keyRef) : null;
  if (!peek) return null;
  const inputs: SealInputs = {
    dataKey: randomBytes(32),
    wrappedKey: Buffer.alloc(peek.wrappedLength),
    provider: ref.provider,
    keyRef: ref.keyRef,
    keyVersion: peek.keyVersion,
    salt: randomBytes(SALT_LENGTH),
    noncePrefix: randomBytes(NONCE_PREFIX_LENGTH),
    segmentSize,
    aad: Buffer.from(opts.artifactId ?? '', 'utf8'),
  };
  let state: SealingState;
  try {
    state = sealingStateFrom(inputs);
  } catch (err) {
    inputs.dataKey.fill(0);
    throw err;
  }
  const header = provider
    .wrap(inputs.dataKey, ref.keyRef, WRAP_CONTEXT)
    .then((w) => headerFrom({ ...inputs, wrappedKey: w.wrapped, keyVersion: w.keyVersion }))
    .finally(() => inputs.dataKey.fill(0));
  // The caller awaits it after starting to seal; until then a rejection is not unhandled.
  header.catch(() => undefined);
  return { state, header };
}

/** Reads and authenticates the header; afterwards the reader is positioned at segment 0. */
export async function prepareOpening(reader: ByteReader, opts: DecryptOptions, providers: ProviderSet): Promise<OpeningState> {
  const header = await readHeader(
    (n) => reader.read(n),
    (where) => new CryptoTruncatedError(`the file ends inside the header (${where})`),
  );
  return openingStateFor(header, opts, providers);
}

export async function unwrapDataKey(header: ParsedHeader, providers: ProviderSet): Promise<Buffer> {
  const dataKey = await providers.get(header.provider).unwrap(header.wrappedKey, header.keyRef, header.keyVersion, WRAP_CONTEXT);
  if (dataKey.length !== 32) {
    dataKey.fill(0);
    throw new CryptoWrongKeyError('the provider returned a data key of the wrong size');
  }
  return dataKey;
}

export async function openingStateFor(header: ParsedHeader, opts: DecryptOptions, providers: ProviderSet): Promise<OpeningState> {
  const dataKey = await unwrapDataKey(header, providers);
  try {
    return openingStateWithKey(header, dataKey, opts);
  } finally {
    dataKey.fill(0);
  }
}

/** Verifies the header against a known data key (test vectors, rewrap). */
export function openingStateWithKey(header: ParsedHeader, dataKey: Buffer, opts: Pick<DecryptOptions, 'artifactId'> = {}): OpeningState {
  const keys = verifyHeader(header, dataKey);
  keys.mac.fill(0);
  if (opts.artifactId !== undefined && !header.aad.equals(Buffer.from(opts.artifactId, 'utf8'))) {
    throw new CryptoAadMismatchError('the file was encrypted for a different artifact id', { details: { expected: opts.artifactId, found: header.aad.toString('utf8') } });
  }
  const cipher = new SegmentCipher(keys.payload, header.noncePrefix, header.coreHash);
  keys.payload.fill(0);
  return { header, cipher };
}

export function blockSize(unit: number, target = BLOCK_TARGET): number {
  return Math.max(unit, Math.floor(target / unit) * unit);
}

export interface BlockOptions {
  /** Bytes read per block, rounded down to whole segments (default 1 MiB). */
  blockTarget?: number;
  /**
   * Write output into two buffers used in turn instead of a fresh buffer per block. Only for a
   * consumer that is done with a block before it asks for the next-but-one (writeBlocks is).
   */
  reuseOutput?: boolean;
}

/** Output buffers for blocks: fresh ones, or two reused in turn (see BlockOptions.reuseOutput). */
function outputBuffers(size: number, reuse: boolean | undefined): () => Buffer {
  if (!reuse) return () => Buffer.allocUnsafe(size);
  const ring = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let turn = 0;
  return () => ring[(turn ^= 1)]!;
}

/**
 * Seals all input into segments, yielding ciphertext a block at a time (header first). While one
 * block is sealed the next is already being read.
 */
export async function* sealSegments(reader: ByteReader, state: SealingState, opts: BlockOptions = {}): AsyncGenerator<Buffer[]> {
  yield [state.header];
  const seg = state.segmentSize;
  const block = blockSize(seg, opts.blockTarget);
  const nextOutput = outputBuffers(sealedLength(block, seg), opts.reuseOutput);
  let index = 0;
  let cur = await reader.read(block, true);
  try {
    for (;;) {
      const full = cur.length === block;
      const nextP = full ? reader.read(block, true) : null;
      // Avoid an unhandled rejection if sealing throws before we await the read.
      nextP?.catch(() => undefined);
      const n = cur.length === 0 ? 1 : Math.ceil(cur.length / seg);
      if (index + n - 1 > MAX_SEGMENTS) throw new UsageError('input too large for this segment size');
      const out = nextOutput();
      // Seal all but the last segment while the next block is read; the last one needs to know
      // whether more input follows (its last flag), and only a full block can be followed by more.
      const head = (n - 1) * seg;
      let written = head > 0 ? state.cipher.sealBlock(cur.subarray(0, head), out, seg, index, false) : 0;
      const next = nextP ? await nextP : null;
      const final = !next || next.length === 0;
      written += state.cipher.sealBlock(cur.subarray(head), out.subarray(written), seg, index + n - 1, final);
      index += n;
      yield [out.subarray(0, written)];
      if (final) return;
      cur = next!;
    }
  } finally {
    state.cipher.release();
  }
}

/**
 * Opens all segments after the header, yielding plaintext a block at a time. Each segment is
 * authenticated before its plaintext is yielded; the end of input must coincide with the segment
 * flagged last.
 */
export async function* openSegments(reader: ByteReader, state: OpeningState, opts: BlockOptions = {}): AsyncGenerator<Buffer[]> {
  const unit = state.header.segmentSize + TAG_LENGTH;
  const block = blockSize(unit, opts.blockTarget);
  const nextOutput = outputBuffers(block, opts.reuseOutput);
  let index = 0;
  let cur = await reader.read(block, true);
  if (cur.length === 0) throw new CryptoTruncatedError('the file has a header but no segments');
  try {
    for (;;) {
      const full = cur.length === block;
      const nextP = full ? reader.read(block, true) : null;
      nextP?.catch(() => undefined);
      const n = Math.ceil(cur.length / unit);
      const out = nextOutput();
      // As in sealSegments: all but the last segment while the next block is read.
      const head = (n - 1) * unit;
      const w1 = head > 0 ? state.cipher.openBlock(cur.subarray(0, head), out, unit, index, false) : 0;
      if (w1 < 0) {
        out.fill(0);
        const k = -1 - w1;
        throw classifyFailure(state.cipher, index + k, false, cur.subarray(k * unit, (k + 1) * unit));
      }
      const next = nextP ? await nextP : null;
      const final = !next || next.length === 0;
      const w2 = state.cipher.openBlock(cur.subarray(head), out.subarray(w1), unit, index + n - 1, final);
      if (w2 < 0) {
        out.fill(0);
        throw classifyFailure(state.cipher, index + n - 1, final, cur.subarray(head));
      }
      index += n;
      yield [out.subarray(0, w1 + w2)];
      if (final) return;
      cur = next!;
    }
  } finally {
    state.cipher.release();
  }
}

/** Tells truncation and appended data apart from plain corruption, for a clearer error. */
function classifyFailure(cipher: SegmentCipher, index: number, last: boolean, chunk: Buffer): Error {
  const details = { segment: index };
  if (chunk.length < TAG_LENGTH) return new CryptoTruncatedError(`the file ends inside segment ${index}`, { details });
  const other = cipher.open(index, !last, chunk);
  if (other) {
    other.fill(0);
    return last
      ? new CryptoTruncatedError(`the file ends after segment ${index}, which is not the final segment`, { details })
      : new CryptoTrailingDataError(`data follows the final segment ${index}`, { details });
  }
  return new CryptoCorruptedError(`segment ${index} failed authentication (corrupted, reordered or from another file)`, { details });
}

/**
 * Encrypts a byte source to envelope bytes.
 *
 * @example
 * for await (const chunk of encryptIterable(fs.createReadStream('model.bin'), { key: 'local:models' })) out.write(chunk);
 */
export async function* encryptIterable(source: ByteSource, opts: EncryptOptions): AsyncGenerator<Buffer> {
  const reader = new IterableByteReader(source);
  try {
    const state = await withProviders(opts, (p) => prepareSealing(opts, p));
    for await (const bufs of sealSegments(reader, state)) yield* bufs;
  } finally {
    await reader.cancel();
  }
}

/** Decrypts envelope bytes from a byte source; throws a coded error on any tampering. */
export async function* decryptIterable(source: ByteSource, opts: DecryptOptions = {}): AsyncGenerator<Buffer> {
  const reader = new IterableByteReader(source);
  try {
    const state = await withProviders(opts, (p) => prepareOpening(reader, opts, p));
    for await (const bufs of openSegments(reader, state)) yield* bufs;
  } finally {
    await reader.cancel();
  }
}

/** Node stream form of encryptIterable: a Readable of envelope bytes, with backpressure. */
export function encryptStream(source: ByteSource, opts: EncryptOptions): Readable {
  return Readable.from(encryptIterable(source, opts), { objectMode: false });
}

/** Node stream form of decryptIterable. The stream errors with a coded RampartError on tampering. */
export function decryptStream(source: ByteSource, opts: DecryptOptions = {}): Readable {
  return Readable.from(decryptIterable(source, opts), { objectMode: false });
}
