// Where encrypt/decrypt/rewrap outputs may go (regression: the temporary file was renamed over
// whatever the output name was, so `-o /dev/null` as root turned the device into a plain file, and
// a symbolic link was replaced by a regular file). Ciphertext streams into a FIFO or device;
// plaintext and in-place rewrites refuse one; links are followed and kept.
import { lstat, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../../test/helpers/fifo.js';
import { ProviderSet } from '../providers/provider-set.js';
import { rewrapFile } from '../rewrap.js';
import { decryptFileToBuffer } from '../serve.js';
import { makeKeyring, seededBytes, tempDir, TEST_PASSPHRASE, type TestKeyring, codeOf } from '../testing/fixtures.js';
import { decryptFile, encryptFile } from './file.js';

describe('encrypt / decrypt / rewrap output names', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let kr: TestKeyring;
  const fresh = () => new ProviderSet({ keyringPath: kr.path, passphrase: TEST_PASSPHRASE });
  const data = seededBytes('output-targets', 200_000);
  let plain: string;
  let enc: string;
  const tmpNames = async () => (await readdir(t.dir)).filter((f) => f.endsWith('.tmp'));

  beforeAll(async () => {
    t = await tempDir('rampart-enc-targets-');
    kr = await makeKeyring(t.dir, ['models']);
    plain = join(t.dir, 'plain.bin');
    enc = join(t.dir, 'plain.bin.enc');
    await writeFile(plain, data);
    await encryptFile(plain, enc, { key: 'local:models', providers: fresh() });
  });
  afterAll(async () => {
    await kr.providers.close();
    await t.cleanup();
  });

  it('encrypt -o FIFO streams the ciphertext into it (no --force needed, the FIFO stays)', async () => {
    const fifo = makeFifo(t.dir, 'cipher-pipe');
    if (!fifo) return;
    const got = drainFifo(fifo);
    const r = await encryptFile(plain, fifo, { key: 'local:models', providers: fresh() });
    const cipher = await got;
    expect(r.bytesOut).toBe(cipher.length);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    const copy = join(t.dir, 'from-pipe.enc');
    await writeFile(copy, cipher);
    expect((await decryptFileToBuffer(copy, { providers: fresh() })).equals(data)).toBe(true);
    expect(await tmpNames()).toEqual([]);
  });

  it('encrypt -o LINK replaces the file the link points at with --force, keeps the link, needs --force', async () => {
    const real = join(t.dir, 'enc-real.enc');
    const link = join(t.dir, 'enc-link.enc');
    await writeFile(real, 'old');
    await symlink('enc-real.enc', link);
    expect(await codeOf(encryptFile(plain, link, { key: 'local:models', providers: fresh() }))).toBe('RAMPART_ERR_CRYPTO_OUTPUT_EXISTS');
    await encryptFile(plain, link, { key: 'local:models', providers: fresh(), force: true });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await decryptFileToBuffer(real, { providers: fresh() })).equals(data)).toBe(true);
  });

  it('decrypt -o FIFO is refused with RAMPART_ERR_OUTPUT_NOT_REGULAR before any key is used; nothing is written', async () => {
    const fifo = makeFifo(t.dir, 'plain-pipe');
    if (!fifo) return;
    // No reader is started: a refusal that opened the FIFO would hang here.
    expect(await codeOf(decryptFile(enc, fifo, { providers: fresh() }))).toBe('RAMPART_ERR_OUTPUT_NOT_REGULAR');
    expect(await codeOf(decryptFile(enc, fifo, { providers: fresh(), force: true }))).toBe('RAMPART_ERR_OUTPUT_NOT_REGULAR');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    // A link to a FIFO is the FIFO.
    const link = join(t.dir, 'plain-pipe-link');
    await symlink(fifo, link);
    expect(await codeOf(decryptFile(enc, link, { providers: fresh(), force: true }))).toBe('RAMPART_ERR_OUTPUT_NOT_REGULAR');
  });

  it('decrypt -o LINK --force writes the linked file (0600), keeps the link; a failed decryption leaves it untouched', async () => {
    const real = join(t.dir, 'dec-real.bin');
    const link = join(t.dir, 'dec-link.bin');
    await writeFile(real, 'previous', { mode: 0o644 });
    await symlink(real, link);
    await decryptFile(enc, link, { providers: fresh(), force: true });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readFile(real)).equals(data)).toBe(true);
    expect((await stat(real)).mode & 0o777).toBe(0o600);

    const bad = join(t.dir, 'tampered.enc');
    const bytes = await readFile(enc);
    bytes[bytes.length - 5]! ^= 1; // last segment's tag
    await writeFile(bad, bytes);
    await writeFile(real, 'keep me');
    expect(await codeOf(decryptFile(bad, link, { providers: fresh(), force: true }))).not.toBe('ok');
    expect(await readFile(real, 'utf8')).toBe('keep me');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await tmpNames()).toEqual([]);
  });

  it('rewrap LINK rewrites the linked file and keeps the link; rewrap FIFO is refused without waiting', async () => {
    const real = join(t.dir, 'rewrap-real.enc');
    const link = join(t.dir, 'rewrap-link.enc');
    await writeFile(real, await readFile(enc), { mode: 0o640 });
    await symlink('rewrap-real.enc', link);
    await kr.keyring.rotate('models');
    const r = await rewrapFile(link, { providers: fresh() });
    expect(r).toMatchObject({ changed: true, to: { keyVersion: '2' } });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await stat(real)).mode & 0o777).toBe(0o640);
    expect((await decryptFileToBuffer(real, { providers: fresh() })).equals(data)).toBe(true);

    const fifo = makeFifo(t.dir, 'rewrap-pipe');
    if (!fifo) return;
    expect(await codeOf(rewrapFile(fifo, { providers: fresh() }))).toBe('RAMPART_ERR_OUTPUT_NOT_REGULAR');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await tmpNames()).toEqual([]);
  });
});
