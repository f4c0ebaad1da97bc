import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptFileToBuffer } from './serve.js';
import { encryptFile } from './envelope/file.js';
import { parseHeaderBytes } from './envelope/format.js';
import { ProviderSet } from './providers/provider-set.js';
import { rewrapFile, rewrapPath } from './rewrap.js';
import { makeKeyring, seededBytes, tempDir, TEST_PASSPHRASE, type TestKeyring, codeOf } from './testing/fixtures.js';

describe('rewrap', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let kr: TestKeyring;
  const fresh = () => new ProviderSet({ keyringPath: kr.path, passphrase: TEST_PASSPHRASE });
  beforeAll(async () => {
    t = await tempDir();
    kr = await makeKeyring(t.dir, ['models', 'archive']);
  });
  afterAll(async () => {
    await kr.providers.close();
    await t.cleanup();
  });

  it('moves files to the newest KEK version without touching the payload; retired versions refuse', async () => {
    const data = seededBytes('rewrap', 300_000);
    const plain = join(t.dir, 'm.bin');
    const enc = join(t.dir, 'm.bin.enc');
    await writeFile(plain, data);
    await encryptFile(plain, enc, { key: 'local:models', providers: fresh(), artifactId: 'm' });
    const before = await readFile(enc);
    const hb = await parseHeaderBytes(before);
    expect(hb.keyVersion).toBe('1');

    // Nothing to do while version 1 is current.
    expect((await rewrapFile(enc, { providers: fresh() })).changed).toBe(false);

    await kr.keyring.rotate('models');
    // Old version still decrypts before rewrap.
    expect((await decryptFileToBuffer(enc, { providers: fresh() })).equals(data)).toBe(true);
    const r = await rewrapFile(enc, { providers: fresh() });
    expect(r).toMatchObject({ changed: true, from: { keyVersion: '1' }, to: { keyVersion: '2', keyRef: 'models' } });
    const after = await readFile(enc);
    const ha = await parseHeaderBytes(after);
    expect(ha.core.equals(hb.core)).toBe(true);
    expect(after.subarray(ha.raw.length).equals(before.subarray(hb.raw.length))).toBe(true);
    expect(ha.wrappedKey.equals(hb.wrappedKey)).toBe(false);

    // A copy still wrapped under v1 refuses once v1 is retired; the rewrapped file decrypts.
    await writeFile(join(t.dir, 'old.enc'), before);
    await kr.keyring.retire('models', 1);
    expect(await codeOf(decryptFileToBuffer(join(t.dir, 'old.enc'), { providers: fresh() }))).toBe('RAMPART_ERR_CRYPTO_KEY_RETIRED');
    expect((await decryptFileToBuffer(enc, { providers: fresh(), artifactId: 'm' })).equals(data)).toBe(true);
    expect(await codeOf(rewrapFile(join(t.dir, 'old.enc'), { providers: fresh() }))).toBe('RAMPART_ERR_CRYPTO_KEY_RETIRED');
    expect((await stat(enc)).mode & 0o777).toBe((await stat(join(t.dir, 'old.enc'))).mode & 0o777);
  });

  it('rewraps a directory under another KEK; a tampered header is never re-signed', async () => {
    const src = join(t.dir, 'tree');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.bin'), seededBytes('a', 5000));
    await writeFile(join(src, 'sub', 'b.bin'), seededBytes('b', 70_000));
    const { encryptPath } = await import('./envelope/file.js');
    await encryptPath(src, join(t.dir, 'tree-enc'), { key: 'local:models', providers: fresh() });
    const rs = await rewrapPath(join(t.dir, 'tree-enc'), { key: 'local:archive', providers: fresh() });
    expect(rs.map((r) => [r.changed, r.to.keyRef])).toEqual([
      [true, 'archive'],
      [true, 'archive'],
    ]);
    expect((await decryptFileToBuffer(join(t.dir, 'tree-enc', 'sub', 'b.bin.enc'), { providers: fresh() })).equals(seededBytes('b', 70_000))).toBe(true);

    const f = join(t.dir, 'tree-enc', 'a.bin.enc');
    const bytes = await readFile(f);
    bytes[12]! ^= 1; // a salt byte
    await writeFile(f, bytes);
    expect(await codeOf(rewrapFile(f, { providers: fresh(), force: true }))).toBe('RAMPART_ERR_CRYPTO_HEADER_TAMPERED');
    expect((await readFile(f)).equals(bytes)).toBe(true);
    expect((await readdir(join(t.dir, 'tree-enc'))).sort()).toEqual(['a.bin.enc', 'sub']);
  });
});
