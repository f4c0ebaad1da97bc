// The native file job (SegmentCipher.sealFile): the read-seal-write loop of `encryptFile` on a
// native thread must give exactly the bytes of the simple block path, with and without its writer
// thread, for inputs around segment and block boundaries; a failed write must reject with the errno
// code and leave the handle usable; and encryptFile must use it and round-trip.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoWrongPassphraseError } from '../errors.js';
import { LocalKeyringProvider } from '../providers/local-keyring.js';
import { ProviderSet } from '../providers/provider-set.js';
import { makeKeyring, seededBytes, tempDir, TEST_PASSPHRASE, type TestKeyring } from '../testing/fixtures.js';
import { readHeader } from './format.js';
import { decryptFile, encryptFile } from './file.js';
import { sealingStateFrom } from './envelope.js';
import { nativeSegments } from './native.js';
import { SegmentCipher, sealedLength } from './segments.js';

const KEY = seededBytes('file-job-key', 32);
const PREFIX = seededBytes('file-job-prefix', 7);
const AAD = seededBytes('file-job-aad', 32);
const SEG = 1024;
const BLOCK = 4 * SEG;

const available = process.env.RAMPART_NATIVE_CRYPTO !== '0' && typeof nativeSegments()?.sealFile === 'function';

describe.skipIf(!available)('native file job (sealFile)', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let kr: TestKeyring;
  beforeAll(async () => {
    t = await tempDir('rampart-file-job-');
    kr = await makeKeyring(t.dir, ['files']);
  });
  afterAll(async () => {
    await kr.providers.close();
    await t.cleanup();
  });

  /** Seals `pt` from a file with the native job, after `offset` bytes of 0xAA that must stay intact. */
  async function sealViaFile(pt: Buffer, pipelined: boolean, blockBytes: number, offset = 5): Promise<Buffer> {
    const src = join(t.dir, 'in.bin');
    const dst = join(t.dir, 'out.bin');
    writeFileSync(src, pt);
    writeFileSync(dst, Buffer.alloc(offset, 0xaa));
    const inFd = openSync(src, 'r');
    const outFd = openSync(dst, 'r+');
    const cipher = new SegmentCipher(KEY, PREFIX, AAD);
    try {
      const r = await cipher.sealFile(inFd, outFd, offset, SEG, { blockBytes, pipelined });
      expect(r).toEqual({ bytesIn: pt.length, bytesOut: sealedLength(pt.length, SEG) });
    } finally {
      cipher.release();
      closeSync(inFd);
      closeSync(outFd);
    }
    const all = readFileSync(dst);
    expect(all.subarray(0, offset).equals(Buffer.alloc(offset, 0xaa))).toBe(true);
    return all.subarray(offset);
  }

  it('writes the bytes of the JavaScript block path for sizes around segment and block boundaries, pipelined or not', async () => {
    const js = new SegmentCipher(KEY, PREFIX, AAD, false);
    const sizes = [0, 1, SEG - 1, SEG, SEG + 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 2 * BLOCK + SEG, 9 * BLOCK + 3 * SEG + 17];
    for (const size of sizes) {
      const pt = seededBytes(`file-job-${size}`, size);
      const want = Buffer.alloc(sealedLength(size, SEG));
      expect(js.sealBlock(pt, want, SEG, 0, true)).toBe(want.length);
      for (const pipelined of [false, true]) {
        // A block that is not a whole number of segments is rounded down; one below a segment is one segment.
        for (const blockBytes of [BLOCK, BLOCK + 100, 1]) {
          const got = await sealViaFile(pt, pipelined, blockBytes);
          expect(got.equals(want), `size ${size}, pipelined ${pipelined}, block ${blockBytes}`).toBe(true);
        }
      }
    }
  });

  it('a failed write or read rejects with the errno code, and the handle is usable again afterwards', async () => {
    const src = join(t.dir, 'full-in.bin');
    writeFileSync(src, seededBytes('full', 3 * BLOCK));
    const cipher = new SegmentCipher(KEY, PREFIX, AAD);
    const inFd = openSync(src, 'r');
    for (const pipelined of [false, true]) {
      const outFd = openSync('/dev/full', 'w');
      try {
        await expect(cipher.sealFile(inFd, outFd, 0, SEG, { blockBytes: BLOCK, pipelined })).rejects.toMatchObject({ code: 'ENOSPC' });
      } finally {
        closeSync(outFd);
      }
    }
    closeSync(inFd);
    // pread on a directory fails at the first read.
    const dirFd = openSync(t.dir, 'r');
    const outFd = openSync(join(t.dir, 'never.out'), 'w');
    try {
      await expect(cipher.sealFile(dirFd, outFd, 0, SEG, { blockBytes: BLOCK, pipelined: true })).rejects.toMatchObject({ code: 'EISDIR', message: expect.stringMatching(/, read$/) });
    } finally {
      closeSync(dirFd);
      closeSync(outFd);
    }
    const out = Buffer.alloc(sealedLength(SEG, SEG));
    expect(cipher.sealBlock(seededBytes('x', SEG), out, SEG, 0, true)).toBe(out.length);
    cipher.release();
  });

  it('refuses other calls on the handle while the job runs', async () => {
    const m = nativeSegments()!;
    const h = m.create(true, KEY, PREFIX, AAD);
    const src = join(t.dir, 'busy.bin');
    writeFileSync(src, seededBytes('busy', 64 * BLOCK));
    const inFd = openSync(src, 'r');
    const outFd = openSync(join(t.dir, 'busy.out'), 'w');
    try {
      const job = m.sealFile!(h, inFd, outFd, 0, SEG, 0, BLOCK, true, null);
      expect(() => m.seal(h, Buffer.alloc(10), Buffer.alloc(26), SEG, 0, true)).toThrow(/invalid arguments/);
      expect(() => m.destroy(h)).toThrow(/in use/);
      expect(() => m.sealFile!(h, inFd, outFd, 0, SEG, 0, BLOCK, true, null)).toThrow(/in use/);
      await job;
      m.destroy(h);
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
  });

  it('encryptFile seals through it: same payload bytes as the block path for the same keys, and it round-trips', async () => {
    const pt = seededBytes('encrypt-file', 3 * 256 * 1024 + 12345);
    const src = join(t.dir, 'model.bin');
    writeFileSync(src, pt);
    await encryptFile(src, join(t.dir, 'model.enc'), { key: 'local:files', providers: kr.providers });
    await decryptFile(join(t.dir, 'model.enc'), join(t.dir, 'model.dec'), { providers: kr.providers });
    expect(readFileSync(join(t.dir, 'model.dec')).equals(pt)).toBe(true);
    // Same header inputs through both paths: identical files.
    const inputs = {
      dataKey: KEY,
      wrappedKey: seededBytes('wrapped', 60),
      provider: 'local',
      keyRef: 'files',
      keyVersion: '1',
      salt: seededBytes('salt', 32),
      noncePrefix: PREFIX,
      segmentSize: 65536,
      aad: Buffer.alloc(0),
    };
    const a = sealingStateFrom(inputs);
    const viaFile = join(t.dir, 'via-file.bin');
    writeFileSync(viaFile, a.header);
    const inFd = openSync(src, 'r');
    const outFd = openSync(viaFile, 'r+');
    await a.cipher.sealFile(inFd, outFd, a.header.length, a.segmentSize, { blockBytes: 256 * 1024, pipelined: true });
    a.cipher.release();
    closeSync(inFd);
    closeSync(outFd);
    const b = sealingStateFrom({ ...inputs, dataKey: Buffer.from(KEY) });
    const payload = Buffer.alloc(sealedLength(pt.length, 65536));
    b.cipher.sealBlock(pt, payload, 65536, 0, true);
    b.cipher.release();
    expect(readFileSync(viaFile).equals(Buffer.concat([b.header, payload]))).toBe(true);
  });

  it('a cancel flag set before the job starts stops it with ECANCELED', async () => {
    const src = join(t.dir, 'cancel.bin');
    writeFileSync(src, seededBytes('cancel', 8 * BLOCK));
    const cipher = new SegmentCipher(KEY, PREFIX, AAD);
    const inFd = openSync(src, 'r');
    const outFd = openSync(join(t.dir, 'cancel.out'), 'w');
    try {
      const cancel = Buffer.from([1, 0, 0, 0]);
      await expect(cipher.sealFile(inFd, outFd, 0, SEG, { blockBytes: BLOCK, pipelined: true, cancel })).rejects.toMatchObject({ code: 'ECANCELED' });
      expect(readFileSync(join(t.dir, 'cancel.out')).length).toBe(0);
    } finally {
      cipher.release();
      closeSync(inFd);
      closeSync(outFd);
    }
  });

  describe('sealing while the keyring unlocks (peekWrap)', () => {
    const pt = seededBytes('early', 5 * 65536 + 99);

    /** The real keyring provider, with peekWrap answering `peek` (a stale or wrong guess). */
    function providersPeeking(peek: { keyVersion: string; wrappedLength: number } | null, passphrase = TEST_PASSPHRASE): ProviderSet {
      const real = new LocalKeyringProvider({ keyringPath: kr.path, passphrase });
      const peekWrap = async (): Promise<typeof peek> => peek;
      return new ProviderSet({}, [Object.assign(real, { peekWrap })]);
    }

    async function roundTrip(name: string, providers: ProviderSet): Promise<Buffer> {
      const src = join(t.dir, `${name}.bin`);
      writeFileSync(src, pt);
      await encryptFile(src, join(t.dir, `${name}.enc`), { key: 'local:files', providers });
      await providers.close();
      await decryptFile(join(t.dir, `${name}.enc`), join(t.dir, `${name}.dec`), { providers: kr.providers });
      expect(readFileSync(join(t.dir, `${name}.dec`)).equals(pt)).toBe(true);
      return readFileSync(join(t.dir, `${name}.enc`));
    }

    it('the local keyring peeks its current version and wrapped length without the passphrase', async () => {
      const p = new LocalKeyringProvider({ keyringPath: kr.path, passphrase: 'not the passphrase' });
      expect(await p.peekWrap('files')).toEqual({ keyVersion: '1', wrappedLength: 60 });
      expect(await p.peekWrap('no-such-kek')).toBeNull();
      expect(await new LocalKeyringProvider({ keyringPath: join(t.dir, 'missing.json') }).peekWrap('files')).toBeNull();
    });

    it('a right guess: the header written last is the real one', async () => {
      const enc = await roundTrip('early-right', providersPeeking({ keyVersion: '1', wrappedLength: 60 }));
      let o = 0;
      const h = await readHeader(async (n) => enc.subarray(o, (o += n)), () => new Error('short'));
      expect(h.keyVersion).toBe('1');
      expect(h.wrappedKey.equals(Buffer.alloc(60))).toBe(false);
    });

    it('a wrong guess of the same length (another version) and of another length (segments sealed again at the right offset) still give a correct file', async () => {
      for (const [name, peek] of [
        ['early-same-length', { keyVersion: '7', wrappedLength: 60 }],
        ['early-longer', { keyVersion: '123', wrappedLength: 60 }],
        ['early-shorter', { keyVersion: '1', wrappedLength: 10 }],
      ] as const) {
        const enc = await roundTrip(name, providersPeeking(peek));
        let o = 0;
        const h = await readHeader(async (n) => enc.subarray(o, (o += n)), () => new Error('short'));
        expect(h.keyVersion).toBe('1');
      }
    });

    it('segments sealed again after a wrong-length guess use a fresh data key (no GCM nonce reused on a changed input)', async () => {
      /** The real keyring, guessing a wrapped key of `length` bytes, counting fresh data keys. */
      function counting(length: number): { providers: ProviderSet; generated: () => number } {
        let n = 0;
        const real = new LocalKeyringProvider({ keyringPath: kr.path, passphrase: TEST_PASSPHRASE });
        const generate = real.generateDataKey.bind(real);
        const spy = Object.assign(real, {
          peekWrap: async () => ({ keyVersion: '1', wrappedLength: length }),
          generateDataKey: (...a: Parameters<typeof generate>) => (n++, generate(...a)),
        });
        return { providers: new ProviderSet({}, [spy]), generated: () => n };
      }
      const wrong = counting(10);
      await roundTrip('early-fresh-key', wrong.providers);
      expect(wrong.generated()).toBe(1);
      // A right guess seals once, under the data key made for the early start.
      const right = counting(60);
      await roundTrip('early-right-once', right.providers);
      expect(right.generated()).toBe(0);
    });

    it('no guess (peekWrap null) falls back to wrapping first', async () => {
      await roundTrip('early-none', providersPeeking(null));
    });

    it('a wrong passphrase fails with its code while sealing runs, and leaves nothing', async () => {
      const dir = join(t.dir, 'wrong-pass');
      mkdirSync(dir);
      writeFileSync(join(dir, 'in.bin'), seededBytes('wrong-pass', 8 * 1024 * 1024));
      const providers = new ProviderSet({ keyringPath: kr.path, passphrase: 'wrong passphrase' });
      await expect(encryptFile(join(dir, 'in.bin'), join(dir, 'in.enc'), { key: 'local:files', providers })).rejects.toBeInstanceOf(CryptoWrongPassphraseError);
      await providers.close();
      expect(readdirSync(dir)).toEqual(['in.bin']);
    });
  });
});
