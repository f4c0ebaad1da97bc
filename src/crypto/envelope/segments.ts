// AES-256-GCM over one segment. Nonce = prefix(7) || segment index (u32 BE) || last flag (1 byte),
// AAD = SHA-256(header core). Binding the index stops reordering, the flag stops truncation at a
// segment boundary, the core hash (and the per-file key) stops segments moving between files.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { NONCE_PREFIX_LENGTH, TAG_LENGTH } from './format.js';
import { nativeSegments, type NativeHandle } from './native.js';

export const MAX_SEGMENTS = 0xffffffff;

/** Stored bytes of `length` plaintext bytes cut into segments of `segmentSize`. */
export function sealedLength(length: number, segmentSize: number): number {
  return length + TAG_LENGTH * (length === 0 ? 1 : Math.ceil(length / segmentSize));
}

/** True when the native file job is available (SegmentCipher.sealFile on a cipher using it). */
export function canSealFiles(): boolean {
  return typeof nativeSegments()?.sealFile === 'function';
}

export class SegmentCipher {
  private readonly key: KeyObject;
  /** Native contexts, created on first block use (undefined: not yet; null: no native cipher). */
  private sealHandle: NativeHandle | null | undefined;
  private openHandle: NativeHandle | null | undefined;

  constructor(
    payloadKey: Buffer,
    private readonly noncePrefix: Buffer,
    private readonly coreHash: Buffer,
    /** false forces the JavaScript path (tests compare both). */
    private readonly useNative = true,
  ) {
    this.key = createSecretKey(payloadKey);
  }

  nonce(index: number, last: boolean): Buffer {
    if (!Number.isInteger(index) || index < 0 || index > MAX_SEGMENTS) throw new RangeError('segment index out of range');
    const n = Buffer.allocUnsafe(12);
    this.noncePrefix.copy(n, 0, 0, NONCE_PREFIX_LENGTH);
    n.writeUInt32BE(index, NONCE_PREFIX_LENGTH);
    n[11] = last ? 1 : 0;
    return n;
  }

  /** The raw parameters, for sealing on worker threads (the caller zeroes the key copy). */
  material(): { key: Buffer; noncePrefix: Buffer; coreHash: Buffer } {
    return { key: this.key.export(), noncePrefix: Buffer.from(this.noncePrefix), coreHash: Buffer.from(this.coreHash) };
  }

  /** Returns [ciphertext, tag]; kept apart so writers can use writev without concatenating. */
  seal(index: number, last: boolean, plaintext: Buffer): [Buffer, Buffer] {
    const c = createCipheriv('aes-256-gcm', this.key, this.nonce(index, last));
    c.setAAD(this.coreHash);
    const ct = c.update(plaintext);
    c.final();
    return [ct, c.getAuthTag()];
  }

  private native(encrypt: boolean): NativeHandle | null {
    const current = encrypt ? this.sealHandle : this.openHandle;
    if (current !== undefined) return current;
    const m = this.useNative ? nativeSegments() : null;
    let h: NativeHandle | null = null;
    if (m) {
      const raw = this.key.export();
      try {
        h = m.create(encrypt, raw, this.noncePrefix.subarray(0, NONCE_PREFIX_LENGTH), this.coreHash);
      } finally {
        raw.fill(0);
      }
    }
    if (encrypt) this.sealHandle = h;
    else this.openHandle = h;
    return h;
  }

  /**
   * Seals consecutive segments (the first has index `first`) of `input` into `output`, each stored
   * as ciphertext ‖ tag; the block's last segment carries the last flag when `final`. An empty
   * input seals one empty segment. `output` needs sealedLength(input.length) bytes; returns the
   * bytes written. Same bytes as seal() per segment, without a buffer allocation per segment.
   */
  sealBlock(input: Buffer, output: Buffer, segmentSize: number, first: number, final: boolean): number {
    const n = input.length === 0 ? 1 : Math.ceil(input.length / segmentSize);
    if (!Number.isInteger(first) || first < 0 || first + n - 1 > MAX_SEGMENTS) throw new RangeError('segment index out of range');
    if (output.length < input.length + TAG_LENGTH * n) throw new RangeError('output buffer too small');
    const h = this.native(true);
    if (h) return nativeSegments()!.seal(h, input, output, segmentSize, first, final);
    let o = 0;
    for (let s = 0; s < n; s++) {
      const [ct, tag] = this.seal(first + s, final && s === n - 1, input.subarray(s * segmentSize, (s + 1) * segmentSize));
      o += ct.copy(output, o);
      o += tag.copy(output, o);
    }
    return o;
  }

  /** True when sealFile() can run (the native cipher with its file job is available). */
  canSealFile(): boolean {
    return this.useNative && canSealFiles();
  }

  /**
   * Seals the whole file open at `inFd` (from offset 0 to its end) into `outFd` from `outOffset`,
   * read, sealed and written in blocks of `blockBytes` (rounded down to whole segments) on a
   * thread-pool thread; with `pipelined` a second native thread writes block N-1 while block N is
   * read and sealed. Same bytes as sealBlock() over the same input. Only when canSealFile().
   * Setting the first byte of `opts.cancel` (4 bytes) stops it early (rejects with ECANCELED).
   */
  async sealFile(inFd: number, outFd: number, outOffset: number, segmentSize: number, opts: { blockBytes: number; pipelined: boolean; cancel?: Buffer }): Promise<{ bytesIn: number; bytesOut: number }> {
    const m = nativeSegments();
    const h = this.native(true);
    if (!m?.sealFile || !h) throw new RangeError('the native file job is not available');
    return m.sealFile(h, inFd, outFd, outOffset, segmentSize, 0, opts.blockBytes, opts.pipelined, opts.cancel ?? null);
  }

  /**
   * Opens consecutive stored segments of `unit` bytes (segment size + tag; the last may be
   * shorter) into `output`. Returns the plaintext bytes written, or -1 - k when the k-th segment of
   * the block fails authentication (nothing of it is left in `output`).
   */
  openBlock(input: Buffer, output: Buffer, unit: number, first: number, final: boolean): number {
    const n = Math.ceil(input.length / unit);
    if (n === 0 || !Number.isInteger(first) || first < 0 || first + n - 1 > MAX_SEGMENTS) throw new RangeError('segment index out of range');
    const h = this.native(false);
    if (h) return nativeSegments()!.open(h, input, output, unit, first, final);
    let o = 0;
    for (let k = 0; k < n; k++) {
      const pt = this.open(first + k, final && k === n - 1, input.subarray(k * unit, (k + 1) * unit));
      if (!pt) return -1 - k;
      o += pt.copy(output, o);
    }
    return o;
  }

  /** Frees the native contexts now rather than at garbage collection (they are re-created if needed). */
  release(): void {
    const m = nativeSegments();
    for (const h of [this.sealHandle, this.openHandle]) if (h && m) m.destroy(h);
    this.sealHandle = undefined;
    this.openHandle = undefined;
  }

  /** Decrypts ciphertext||tag; null when authentication fails (the caller decides which error). */
  open(index: number, last: boolean, chunk: Buffer): Buffer | null {
    if (chunk.length < TAG_LENGTH) return null;
    const d = createDecipheriv('aes-256-gcm', this.key, this.nonce(index, last));
    d.setAAD(this.coreHash);
    d.setAuthTag(chunk.subarray(chunk.length - TAG_LENGTH));
    const pt = d.update(chunk.subarray(0, chunk.length - TAG_LENGTH));
    try {
      d.final();
    } catch {
      pt.fill(0);
      return null;
    }
    return pt;
  }
}
