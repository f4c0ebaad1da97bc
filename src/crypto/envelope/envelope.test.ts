import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeyring, prng, seededBytes, tempDir, type TestKeyring, codeOf } from '../testing/fixtures.js';
import { decryptFile, decryptPath, encryptFile, encryptPath } from './file.js';
import { decryptIterable, decryptStream, encryptIterable, encryptStream } from './envelope.js';
import { MAC_LENGTH, parseHeaderBytes } from './format.js';

const SEG = 1024; // small segments so multi-segment cases stay small

let t: { dir: string; cleanup: () => Promise<void> };
let kr: TestKeyring;

beforeAll(async () => {
  t = await tempDir();
  kr = await makeKeyring(t.dir, ['test-kek', 'other-kek']);
});
afterAll(async () => {
  await kr.providers.close();
  await t.cleanup();
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

function chunked(data: Buffer, sizes: number[]): AsyncIterable<Buffer> {
  return (async function* () {
    let o = 0;
    let i = 0;
    while (o < data.length) {
      const n = sizes[i++ % sizes.length]!;
      yield data.subarray(o, o + n);
      o += n;
    }
  })();
}

async function enc(data: Buffer, opts: { segmentSize?: number; artifactId?: string; key?: string } = {}): Promise<Buffer> {
  return collect(encryptIterable(chunked(data, [777, 1, 4096]), { key: opts.key ?? 'local:test-kek', providers: kr.providers, segmentSize: opts.segmentSize ?? SEG, ...(opts.artifactId ? { artifactId: opts.artifactId } : {}) }));
}

async function dec(data: Buffer, artifactId?: string): Promise<Buffer> {
  return collect(decryptIterable(chunked(data, [1000, 3]), { providers: kr.providers, ...(artifactId !== undefined ? { artifactId } : {}) }));
}

describe('envelope round trips', () => {
  const sizes = [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 17, 1024 * SEG, 1024 * SEG + 5];
  for (const size of sizes) {
    it(`is byte-identical for ${size} bytes`, async () => {
      const data = seededBytes(`rt-${size}`, size);
      const ct = await enc(data);
      const h = await parseHeaderBytes(ct);
      const segments = Math.max(1, Math.ceil(size / SEG));
      expect(ct.length).toBe(h.raw.length + size + 16 * segments);
      expect((await dec(ct)).equals(data)).toBe(true);
    });
  }

  it('uses a fresh data key, salt and nonce prefix per file', async () => {
    const data = seededBytes('same', 100);
    const [a, b] = [await parseHeaderBytes(await enc(data)), await parseHeaderBytes(await enc(data))];
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.noncePrefix.equals(b.noncePrefix)).toBe(false);
    expect(a.keyRef).toBe('test-kek');
    expect(a.provider).toBe('local');
    expect(a.keyVersion).toBe('1');
  });

  it('Node stream API round trips with the default segment size', async () => {
    const data = seededBytes('stream', 300_000);
    const ct = await collect(encryptStream(Readable.from([data]), { key: 'local:test-kek', providers: kr.providers }));
    const pt = await collect(decryptStream(Readable.from([ct]), { providers: kr.providers }));
    expect(pt.equals(data)).toBe(true);
  });

  it('streams 100 MB through encrypt and decrypt in constant memory', async () => {
    const total = 100 * 1024 * 1024;
    const piece = seededBytes('big', 1024 * 1024);
    const source = Readable.from(
      (function* () {
        for (let o = 0; o < total; o += piece.length) yield piece;
      })(),
    );
    const plain = decryptStream(encryptStream(source, { key: 'local:test-kek', providers: kr.providers }), { providers: kr.providers });
    const h = createHash('sha256');
    let n = 0;
    let peak = 0;
    const base = process.memoryUsage().rss;
    for await (const b of plain) {
      h.update(b);
      n += (b as Buffer).length;
      if ((n & 0xfffff) === 0) peak = Math.max(peak, process.memoryUsage().rss - base);
    }
    const want = createHash('sha256');
    for (let o = 0; o < total; o += piece.length) want.update(piece);
    expect(n).toBe(total);
    expect(h.digest('hex')).toBe(want.digest('hex'));
    // Streaming holds a few MiB; buffering the whole input would grow RSS by far more than 100 MB.
    expect(peak).toBeLessThan(60 * 1024 * 1024);
  });
});

describe('tampering is refused with a distinct code', () => {
  let data: Buffer;
  let ct: Buffer;
  let headerLen: number;
  const unit = SEG + 16;
  beforeAll(async () => {
    data = seededBytes('tamper', 4 * SEG + 100);
    ct = await enc(data, { artifactId: 'model-42' });
    headerLen = (await parseHeaderBytes(ct)).raw.length;
  });

  it('flipped payload byte → CORRUPTED', async () => {
    const bad = Buffer.from(ct);
    bad[headerLen + unit + 5]! ^= 1;
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
  });
  it('truncated at a segment boundary → TRUNCATED', async () => {
    expect(await codeOf(dec(ct.subarray(0, headerLen + 2 * unit)))).toBe('RAMPART_ERR_CRYPTO_TRUNCATED');
  });
  it('header only → TRUNCATED', async () => {
    expect(await codeOf(dec(ct.subarray(0, headerLen)))).toBe('RAMPART_ERR_CRYPTO_TRUNCATED');
  });
  it('truncated inside the header → TRUNCATED', async () => {
    expect(await codeOf(dec(ct.subarray(0, headerLen - 10)))).toBe('RAMPART_ERR_CRYPTO_TRUNCATED');
  });
  it('last segment dropped mid-way → CORRUPTED or TRUNCATED', async () => {
    expect(['RAMPART_ERR_CRYPTO_CORRUPTED', 'RAMPART_ERR_CRYPTO_TRUNCATED']).toContain(await codeOf(dec(ct.subarray(0, ct.length - 3))));
  });
  it('a copy of the final segment appended → TRAILING_DATA', async () => {
    // Whole extra unit after the final (short) segment: the final segment is then read as a
    // non-final one, fails, and authenticates as final.
    const full = await enc(seededBytes('aligned', 2 * SEG), {});
    const bad = Buffer.concat([full, full.subarray(full.length - unit)]);
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_TRAILING_DATA');
  });
  it('segments reordered → CORRUPTED', async () => {
    const bad = Buffer.from(ct);
    ct.copy(bad, headerLen, headerLen + unit, headerLen + 2 * unit);
    ct.copy(bad, headerLen + unit, headerLen, headerLen + unit);
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
  });
  it('segment swapped in from another file (same key, same artifact) → CORRUPTED', async () => {
    const other = await enc(data, { artifactId: 'model-42' });
    const oh = (await parseHeaderBytes(other)).raw.length;
    const bad = Buffer.from(ct);
    other.copy(bad, headerLen + unit, oh + unit, oh + 2 * unit);
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
  });
  it('header from another file on this payload → CORRUPTED', async () => {
    const other = await enc(data, { artifactId: 'model-42' });
    const oh = (await parseHeaderBytes(other)).raw.length;
    const bad = Buffer.concat([other.subarray(0, oh), ct.subarray(headerLen)]);
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
  });
  it('any edited header byte is refused, never decrypted', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < headerLen; i++) {
      const bad = Buffer.from(ct);
      bad[i]! ^= 0x01;
      const code = await codeOf(dec(bad));
      expect(code, `byte ${i}`).toMatch(/^RAMPART_ERR_CRYPTO_/);
      seen.add(code);
    }
    // The MAC and the commitment catch what parsing and unwrapping do not.
    expect(seen).toContain('RAMPART_ERR_CRYPTO_HEADER_TAMPERED');
    expect(seen).toContain('RAMPART_ERR_CRYPTO_NOT_ENCRYPTED');
    expect(seen).toContain('RAMPART_ERR_CRYPTO_UNSUPPORTED_VERSION');
    expect(seen).toContain('RAMPART_ERR_CRYPTO_WRONG_KEY');
  });
  it('the header MAC alone edited → HEADER_TAMPERED', async () => {
    const bad = Buffer.from(ct);
    bad[headerLen - MAC_LENGTH + 3]! ^= 0x80;
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_HEADER_TAMPERED');
  });
  it('unknown format version → UNSUPPORTED_VERSION', async () => {
    const bad = Buffer.from(ct);
    bad[4] = 2;
    expect(await codeOf(dec(bad))).toBe('RAMPART_ERR_CRYPTO_UNSUPPORTED_VERSION');
  });
  it('not an encrypted file → NOT_ENCRYPTED', async () => {
    expect(await codeOf(dec(Buffer.from('hello world, plainly')))).toBe('RAMPART_ERR_CRYPTO_NOT_ENCRYPTED');
    expect(await codeOf(dec(Buffer.alloc(0)))).toBe('RAMPART_ERR_CRYPTO_NOT_ENCRYPTED');
  });
  it('expected artifact id differs → AAD_MISMATCH; matching one decrypts', async () => {
    expect(await codeOf(dec(ct, 'model-43'))).toBe('RAMPART_ERR_CRYPTO_AAD_MISMATCH');
    expect((await dec(ct, 'model-42')).equals(data)).toBe(true);
  });
  it('wrong keyring (same KEK name, different key) → WRONG_KEY', async () => {
    const other = await makeKeyring(t.dir, ['test-kek'], 'other-keyring.json');
    try {
      const code = await codeOf(collect(decryptIterable(Readable.from([ct]), { providers: other.providers })));
      expect(code).toBe('RAMPART_ERR_CRYPTO_WRONG_KEY');
    } finally {
      await other.providers.close();
    }
  });
  it('wrong passphrase → WRONG_PASSPHRASE, and the passphrase is in no error', async () => {
    const secret = 'hunter2-not-the-passphrase';
    let caught: unknown;
    try {
      await collect(decryptIterable(Readable.from([ct]), { providerOptions: { keyringPath: kr.path, passphrase: secret } }));
    } catch (err) {
      caught = err;
    }
    expect((caught as { code: string }).code).toBe('RAMPART_ERR_CRYPTO_WRONG_PASSPHRASE');
    expect(JSON.stringify({ m: (caught as Error).message, d: (caught as { details?: unknown }).details, s: (caught as Error).stack })).not.toContain(secret);
  });
});

describe('files and directories', () => {
  it('encrypts and decrypts a file atomically; a failed decryption leaves nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const data = seededBytes('file', 200_000);
      await writeFile(join(dir, 'model.bin'), data);
      await encryptFile(join(dir, 'model.bin'), join(dir, 'model.bin.enc'), { key: 'local:test-kek', providers: kr.providers });
      await decryptFile(join(dir, 'model.bin.enc'), join(dir, 'out.bin'), { providers: kr.providers });
      expect((await readFile(join(dir, 'out.bin'))).equals(data)).toBe(true);
      expect((await stat(join(dir, 'out.bin'))).mode & 0o777).toBe(0o600);
      expect(await codeOf(decryptFile(join(dir, 'model.bin.enc'), join(dir, 'out.bin'), { providers: kr.providers }))).toBe('RAMPART_ERR_CRYPTO_OUTPUT_EXISTS');

      const ct = await readFile(join(dir, 'model.bin.enc'));
      ct[ct.length - 70_000]! ^= 4;
      await writeFile(join(dir, 'bad.enc'), ct);
      expect(await codeOf(decryptFile(join(dir, 'bad.enc'), join(dir, 'bad.bin'), { providers: kr.providers }))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
      expect((await readdir(dir)).sort()).toEqual(['bad.enc', 'model.bin', 'model.bin.enc', 'out.bin']);
    } finally {
      await cleanup();
    }
  });

  it('encrypts a directory tree file by file and decrypts it back; a bad file fails the whole tree', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const src = join(dir, 'model');
      const files: Record<string, Buffer> = { 'config.json': Buffer.from('{"a":1}'), 'weights/part-1.bin': seededBytes('p1', 70_000), 'weights/empty.bin': Buffer.alloc(0) };
      for (const [f, b] of Object.entries(files)) {
        await import('node:fs/promises').then((fs) => fs.mkdir(join(src, f, '..'), { recursive: true }));
        await writeFile(join(src, f), b);
      }
      const r = await encryptPath(src, join(dir, 'enc'), { key: 'local:test-kek', providers: kr.providers });
      expect(r.files.map((f) => f.output.slice(dir.length + 1)).sort()).toEqual(['enc/config.json.enc', 'enc/weights/empty.bin.enc', 'enc/weights/part-1.bin.enc']);
      await decryptPath(join(dir, 'enc'), join(dir, 'dec'), { providers: kr.providers });
      for (const [f, b] of Object.entries(files)) expect((await readFile(join(dir, 'dec', f))).equals(b)).toBe(true);

      const bad = await readFile(join(dir, 'enc/weights/part-1.bin.enc'));
      await writeFile(join(dir, 'enc/weights/part-1.bin.enc'), bad.subarray(0, bad.length - 1000));
      expect(await codeOf(decryptPath(join(dir, 'enc'), join(dir, 'dec2'), { providers: kr.providers }))).toMatch(/CORRUPTED|TRUNCATED/);
      expect((await readdir(dir)).sort()).toEqual(['dec', 'enc', 'model']);
    } finally {
      await cleanup();
    }
  });
});

describe('fuzz: mutated ciphertexts', () => {
  it('every mutation (seeded) yields a coded error and no output file', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const data = seededBytes('fuzz', 3 * SEG + 300);
      const ct = await enc(data, { artifactId: 'fuzz' });
      const rnd = prng(20261128);
      const codes = new Map<string, number>();
      for (let i = 0; i < 150; i++) {
        const bad = Buffer.from(ct);
        let mutated: Buffer = bad;
        const kind = Math.floor(rnd() * 4);
        if (kind === 0) {
          const n = 1 + Math.floor(rnd() * 4);
          for (let j = 0; j < n; j++) bad[Math.floor(rnd() * bad.length)]! ^= 1 + Math.floor(rnd() * 255);
        } else if (kind === 1) mutated = bad.subarray(0, Math.floor(rnd() * bad.length));
        else if (kind === 2) mutated = Buffer.concat([bad, seededBytes(`x${i}`, 1 + Math.floor(rnd() * 2000))]);
        else {
          const at = Math.floor(rnd() * bad.length);
          mutated = Buffer.concat([bad.subarray(0, at), bad.subarray(at + 1 + Math.floor(rnd() * 50))]);
        }
        if (mutated.equals(ct)) continue;
        await writeFile(join(dir, 'in.enc'), mutated);
        const code = await codeOf(decryptFile(join(dir, 'in.enc'), join(dir, 'out.bin'), { providers: kr.providers }));
        expect(code, `mutation ${i} kind ${kind}`).toMatch(/^RAMPART_ERR_CRYPTO_/);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect(await readdir(dir)).toEqual(['in.enc']);
      }
      expect(codes.size).toBeGreaterThan(2);
    } finally {
      await cleanup();
    }
  });
});
