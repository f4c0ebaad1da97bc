// AES-256-GCM over one segment. Nonce = prefix(7) || segment index (u32 BE) || last flag (1 byte),
// AAD = SHA-256(header core). Binding the index stops reordering, the flag stops truncation at a
// segment boundary, the core hash (and the per-file key) stops segments moving between files.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { NONCE_PREFIX_LENGTH, TAG_LENGTH } from './format.js';

export const MAX_SEGMENTS = 0xffffffff;

export class SegmentCipher {
  private readonly key: KeyObject;

  constructor(
    payloadKey: Buffer,
    private readonly noncePrefix: Buffer,
    private readonly coreHash: Buffer,
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
