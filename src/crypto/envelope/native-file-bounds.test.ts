// Edge cases of the native file job found worth pinning in review: the last-segment flag when a
// file is empty, one byte, or an exact multiple of the segment size or of the job's 256 KiB block,
// through encryptFile's early-sealing path (segments written before the keyring is unlocked, the
// header last); segment indices at the top of the u32 range; output offsets past 4 GiB.
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeyring, seededBytes, tempDir, type TestKeyring } from '../testing/fixtures.js';
import { decryptFile, encryptFile } from './file.js';
import { readHeader } from './format.js';
import { nativeSegments } from './native.js';
import { SegmentCipher, sealedLength } from './segments.js';

const KEY = seededBytes('bounds-key', 32);
const PREFIX = seededBytes('bounds-prefix', 7);
const AAD = seededBytes('bounds-aad', 32);
const SEG = 1024;
const U32_MAX = 0xffffffff;

const available = process.env.RAMPART_NATIVE_CRYPTO !== '0' && typeof nativeSegments()?.sealFile === 'function';

describe.skipIf(!available)('native file job: boundaries', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let kr: TestKeyring;
  beforeAll(async () => {
    t = await tempDir('rampart-file-bounds-');
    kr = await makeKeyring(t.dir, ['files']);
  });
  afterAll(async () => {
    await kr.providers.close();
    await t.cleanup();
  });

  it('encryptFile flags the last segment of empty, 1-byte and exact-multiple files (segment and 256 KiB block) and round-trips them', async () => {
    const seg = 65536;
    for (const size of [0, 1, seg - 1, seg, seg + 1, 4 * seg, 8 * seg, 8 * seg + 1]) {
      const pt = seededBytes(`bounds-${size}`, size);
      const src = join(t.dir, `b${size}.bin`);
      const enc = join(t.dir, `b${size}.enc`);
      const dec = join(t.dir, `b${size}.dec`);
      writeFileSync(src, pt);
      const r = await encryptFile(src, enc, { key: 'local:files', providers: kr.providers });
      const file = readFileSync(enc);
      let o = 0;
      const header = await readHeader(async (n) => file.subarray(o, (o += n)), () => new Error('short'));
      expect(file.length, `size ${size}`).toBe(header.raw.length + sealedLength(size, seg));
      expect(r.bytesOut).toBe(file.length);
      // Opening checks the last flag: a missing one reads as truncation, a misplaced one as tampering.
      await decryptFile(enc, dec, { providers: kr.providers });
      expect(readFileSync(dec).equals(pt), `size ${size}`).toBe(true);
    }
  });

  it('seals up to segment index 2^32 - 1 exactly like the block path, and refuses one segment more', async () => {
    const m = nativeSegments()!;
    const js = new SegmentCipher(KEY, PREFIX, AAD, false);
    const src = join(t.dir, 'top.bin');
    const dst = join(t.dir, 'top.out');
    for (const pipelined of [false, true]) {
      // Four segments ending at index 2^32 - 1, sealed in blocks of two: the last flag falls on it.
      const pt = seededBytes('top', 3 * SEG + 7);
      writeFileSync(src, pt);
      writeFileSync(dst, '');
      const want = Buffer.alloc(sealedLength(pt.length, SEG));
      js.sealBlock(pt, want, SEG, U32_MAX - 3, true);
      const h = m.create(true, KEY, PREFIX, AAD);
      const inFd = openSync(src, 'r');
      const outFd = openSync(dst, 'r+');
      try {
        await m.sealFile!(h, inFd, outFd, 0, SEG, U32_MAX - 3, 2 * SEG, pipelined, null);
        expect(readFileSync(dst).equals(want)).toBe(true);
        // One byte more needs a fifth segment, index 2^32: refused, not wrapped around to 0.
        writeFileSync(src, Buffer.concat([pt, Buffer.alloc(SEG)]));
        await expect(m.sealFile!(h, inFd, outFd, 0, SEG, U32_MAX - 3, 2 * SEG, pipelined, null)).rejects.toMatchObject({ code: 'RAMPART_NATIVE' });
      } finally {
        m.destroy(h);
        closeSync(inFd);
        closeSync(outFd);
      }
    }
  });

  it('writes at an output offset past 4 GiB (sparse file) without truncating the offset', async () => {
    const pt = seededBytes('far', 5 * SEG + 3);
    const src = join(t.dir, 'far.bin');
    const dst = join(t.dir, 'far.out');
    writeFileSync(src, pt);
    writeFileSync(dst, '');
    const offset = 5 * 1024 ** 3 + 3;
    const want = Buffer.alloc(sealedLength(pt.length, SEG));
    new SegmentCipher(KEY, PREFIX, AAD, false).sealBlock(pt, want, SEG, 0, true);
    const cipher = new SegmentCipher(KEY, PREFIX, AAD);
    const inFd = openSync(src, 'r');
    const outFd = openSync(dst, 'r+');
    try {
      const r = await cipher.sealFile(inFd, outFd, offset, SEG, { blockBytes: 2 * SEG, pipelined: true });
      expect(r).toEqual({ bytesIn: pt.length, bytesOut: want.length });
      expect(statSync(dst).size).toBe(offset + want.length);
      const got = Buffer.alloc(want.length);
      expect(readSync(outFd, got, 0, got.length, offset)).toBe(got.length);
      expect(got.equals(want)).toBe(true);
      // Nothing landed at the offset taken modulo 2^32.
      const low = Buffer.alloc(16);
      readSync(outFd, low, 0, 16, offset % 2 ** 32);
      expect(low.equals(Buffer.alloc(16))).toBe(true);
    } finally {
      cipher.release();
      closeSync(inFd);
      closeSync(outFd);
    }
  });
});
