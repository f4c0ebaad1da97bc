import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFile } from './envelope/file.js';
import { decryptFileToBuffer, decryptToPrivateTemp, openDecrypted, privateTempBase } from './serve.js';
import { makeKeyring, seededBytes, tempDir, type TestKeyring, codeOf } from './testing/fixtures.js';

describe('serving encrypted models', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let kr: TestKeyring;
  const data = seededBytes('weights', 1_000_000);
  let enc: string;
  beforeAll(async () => {
    t = await tempDir();
    kr = await makeKeyring(t.dir, ['models']);
    await writeFile(join(t.dir, 'weights.bin'), data);
    enc = join(t.dir, 'weights.bin.enc');
    await encryptFile(join(t.dir, 'weights.bin'), enc, { key: 'local:models', providers: kr.providers });
  });
  afterAll(async () => {
    await kr.providers.close();
    await t.cleanup();
  });

  it('openDecrypted streams the plaintext', async () => {
    const parts: Buffer[] = [];
    for await (const b of openDecrypted(enc, { providers: kr.providers })) parts.push(b as Buffer);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('openDecrypted errors with a coded error on a corrupted file', async () => {
    const bad = await readFile(enc);
    bad[bad.length - 10]! ^= 1;
    await writeFile(join(t.dir, 'bad.enc'), bad);
    const consume = async () => {
      for await (const _ of openDecrypted(join(t.dir, 'bad.enc'), { providers: kr.providers })) void _;
    };
    expect(await codeOf(consume())).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
    expect(await codeOf(decryptFileToBuffer(join(t.dir, 'bad.enc'), { providers: kr.providers }))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
  });

  it('decryptFileToBuffer returns exactly the plaintext', async () => {
    expect((await decryptFileToBuffer(enc, { providers: kr.providers })).equals(data)).toBe(true);
  });

  it('decryptToPrivateTemp writes into a private 0700 dir (in /dev/shm when present) and cleanup wipes it', async () => {
    const p = await decryptToPrivateTemp(enc, { providers: kr.providers });
    expect(p.path.endsWith('/weights.bin')).toBe(true);
    expect(p.dir.startsWith(await privateTempBase())).toBe(true);
    expect((await stat(p.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(p.path)).mode & 0o777).toBe(0o600);
    expect((await readFile(p.path)).equals(data)).toBe(true);
    await p.cleanup();
    expect(await codeOf(access(p.dir))).toBe('ENOENT');
  });

  it('decryptToPrivateTemp leaves nothing behind on failure', async () => {
    const base = join(t.dir, 'base');
    const { mkdir, readdir } = await import('node:fs/promises');
    await mkdir(base);
    expect(await codeOf(decryptToPrivateTemp(join(t.dir, 'bad.enc'), { providers: kr.providers, baseDir: base }))).toBe('RAMPART_ERR_CRYPTO_CORRUPTED');
    expect(await readdir(base)).toEqual([]);
  });
});
