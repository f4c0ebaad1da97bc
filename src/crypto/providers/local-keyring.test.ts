import { lstat, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFifo } from '../../../test/helpers/fifo.js';
import { Keyring, listKeyring } from '../keyring.js';
import { makeKeyring, TEST_PASSPHRASE, TEST_SCRYPT, tempDir, codeOf } from '../testing/fixtures.js';
import { LocalKeyringProvider } from './local-keyring.js';
import { runProviderConformance } from './provider.case.js';

runProviderConformance('local keyring', async () => {
  const t = await tempDir();
  const kr = await makeKeyring(t.dir, ['kek-a', 'kek-b']);
  await kr.providers.close();
  const provider = new LocalKeyringProvider({ keyringPath: kr.path, passphrase: TEST_PASSPHRASE });
  return {
    provider,
    keyRef: 'kek-a',
    otherKeyRef: 'kek-b',
    missingKeyRef: 'no-such-kek',
    versionChangesOnRotate: true,
    rotate: async () => {
      await kr.keyring.rotate('kek-a');
      // The provider holds its own opened copy: reopen so it sees the change, as a new process would.
      await provider.close();
    },
    retire: async (v) => {
      await kr.keyring.retire('kek-a', Number(v));
      await provider.close();
    },
    teardown: t.cleanup,
  };
});

describe('keyring file', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await tempDir();
  });
  afterAll(async () => t.cleanup());

  it('is written with mode 0600, stores scrypt parameters and no plaintext key material', async () => {
    const kr = await makeKeyring(t.dir, ['models'], 'k1.json');
    const st = await stat(kr.path);
    expect(st.mode & 0o777).toBe(0o600);
    const file = JSON.parse(await readFile(kr.path, 'utf8'));
    expect(file.kdf).toMatchObject({ name: 'scrypt', N: TEST_SCRYPT.N, r: 8, p: 1 });
    const material = kr.keyring.material('models').key;
    const text = await readFile(kr.path, 'utf8');
    expect(text).not.toContain(material.toString('base64'));
    expect(text).not.toContain(material.toString('hex'));
    expect(text).not.toContain(TEST_PASSPHRASE);
  });

  it('uses N=2^17 r=8 p=1 by default', async () => {
    const kr = await Keyring.create(join(t.dir, 'default.json'), 'pass-for-default');
    const file = JSON.parse(await readFile(kr.path, 'utf8'));
    expect(file.kdf).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    kr.close();
  });

  it('rotates, lists and retires versions; the newest cannot be retired', async () => {
    const kr = await makeKeyring(t.dir, ['models'], 'k2.json');
    expect(await kr.keyring.rotate('models')).toBe(2);
    expect(await kr.keyring.rotate('models')).toBe(3);
    await kr.keyring.retire('models', 1);
    expect(await codeOf(kr.keyring.retire('models', 3))).toBe('RAMPART_ERR_USAGE');
    const list = await listKeyring(kr.path);
    expect(list).toHaveLength(1);
    expect(list[0]!.currentVersion).toBe(3);
    expect(list[0]!.versions.map((v) => v.retired !== null)).toEqual([true, false, false]);
    expect(JSON.stringify(list)).not.toMatch(/material/);
    expect(await codeOf(kr.keyring.createKek('models'))).toBe('RAMPART_ERR_CRYPTO_KEY_EXISTS');
  });

  it('refuses a wrong passphrase, a tampered file and a malformed file with distinct codes', async () => {
    const kr = await makeKeyring(t.dir, ['models'], 'k3.json');
    await kr.keyring.rotate('models');
    await kr.keyring.retire('models', 1);
    expect(await codeOf(Keyring.open(kr.path, 'wrong passphrase'))).toBe('RAMPART_ERR_CRYPTO_WRONG_PASSPHRASE');
    expect(await codeOf(Keyring.open(kr.path, ''))).toBe('RAMPART_ERR_CRYPTO_PASSPHRASE_REQUIRED');
    const file = JSON.parse(await readFile(kr.path, 'utf8'));
    file.keks[0].versions[0].retired = null; // try to un-retire without the passphrase
    await writeFile(kr.path, JSON.stringify(file));
    expect(await codeOf(Keyring.open(kr.path, TEST_PASSPHRASE))).toBe('RAMPART_ERR_CRYPTO_KEYRING_TAMPERED');
    await writeFile(kr.path, '{"type":"rampart-keyring","version":1,"kdf":{"name":"scrypt","N":1073741824,"r":8,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA=="}}');
    expect(await codeOf(Keyring.open(kr.path, TEST_PASSPHRASE))).toBe('RAMPART_ERR_CRYPTO_KEYRING_INVALID');
    await writeFile(kr.path, 'not json');
    expect(await codeOf(Keyring.open(kr.path, TEST_PASSPHRASE))).toBe('RAMPART_ERR_CRYPTO_KEYRING_INVALID');
    expect(await codeOf(Keyring.open(join(t.dir, 'absent.json'), TEST_PASSPHRASE))).toBe('RAMPART_ERR_CRYPTO_KEYRING_MISSING');
  });

  it('behind a symbolic link: rewrites the file the link points at (0600), keeps the link, locks beside the file', async () => {
    const kr = await makeKeyring(t.dir, ['a'], 'linked-real.json');
    const link = join(t.dir, 'linked-link.json');
    await symlink('linked-real.json', link);
    const viaLink = await Keyring.open(link, TEST_PASSPHRASE);
    await viaLink.createKek('b');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await stat(kr.path)).mode & 0o777).toBe(0o600);
    expect((await listKeyring(kr.path)).map((k) => k.name)).toEqual(['a', 'b']);
    // The handle opened on the real path sees the change made through the link (same lock, same file).
    await kr.keyring.createKek('c');
    expect((await listKeyring(link)).map((k) => k.name)).toEqual(['a', 'b', 'c']);
    expect((await readdir(t.dir)).filter((f) => f.startsWith('linked-') && (f.endsWith('.tmp') || f.endsWith('.lock')))).toEqual([]);
  });

  it('refuses a keyring that is a FIFO (coded, without waiting for a writer) and never replaces it', async () => {
    const fifo = makeFifo(t.dir, 'keyring-pipe.json');
    if (!fifo) return;
    expect(await codeOf(Keyring.open(fifo, TEST_PASSPHRASE))).toBe('RAMPART_ERR_CRYPTO_KEYRING_INVALID');
    expect(await codeOf(Keyring.create(fifo, TEST_PASSPHRASE, { scrypt: TEST_SCRYPT }))).toBe('RAMPART_ERR_CRYPTO_KEY_EXISTS');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it('keeps concurrent writers from losing each other’s changes', async () => {
    const kr = await makeKeyring(t.dir, [], 'k4.json');
    const other = await Keyring.open(kr.path, TEST_PASSPHRASE);
    await Promise.all([kr.keyring.createKek('a'), other.createKek('b'), kr.keyring.createKek('c')]);
    expect((await listKeyring(kr.path)).map((k) => k.name).sort()).toEqual(['a', 'b', 'c']);
  });
});
