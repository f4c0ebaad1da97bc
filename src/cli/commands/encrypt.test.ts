// CLI-level tests of encrypt / decrypt / rewrap / keys *-kek: spawn the built `bin/rampart.js`
// (the test script builds dist first; locally run `npm run build`).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../../test/helpers/fifo.js';
import { encryptFile } from '../../crypto/envelope/file.js';
import { Keyring } from '../../crypto/keyring.js';
import { ProviderSet } from '../../crypto/providers/provider-set.js';
import { makeKeyring, seededBytes, tempDir, TEST_PASSPHRASE } from '../../crypto/testing/fixtures.js';

const bin = fileURLToPath(new URL('../../../bin/rampart.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `shellPrefix`, when given, is a bash command run first in the same process (e.g. a ulimit). */
function rampart(args: string[], env: Record<string, string> = {}, cwd?: string, shellPrefix?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = shellPrefix === undefined ? [process.execPath, [bin, ...args]] : ['bash', ['-c', `${shellPrefix} && exec "$0" "$@"`, process.execPath, bin, ...args]];
    const child = spawn(cmd, argv, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `rampart ARGS` and sends it SIGTERM as soon as a temporary output file shows up in `dir`
 * (polled every `pollMs`); `sawTemp` is false when the command finished first.
 */
async function termWhenTempAppears(args: string[], env: Record<string, string>, dir: string, pollMs: number): Promise<{ sawTemp: boolean; sig: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, sig) => resolve(sig)));
  let sawTemp = false;
  for (let i = 0; i < 6000 && child.exitCode === null; i++) {
    if ((await readdir(dir)).some((f) => f.endsWith('.tmp'))) {
      sawTemp = true;
      child.kill('SIGTERM');
      break;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { sawTemp, sig: await exited };
}

// Each spawn starts the whole CLI; on a loaded machine that takes seconds, hence the long timeout.
describe('rampart encrypt / decrypt / rewrap / keys (CLI)', { timeout: 180_000 }, () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let env: Record<string, string>;
  const data = seededBytes('cli', 150_000);

  beforeAll(async () => {
    t = await tempDir('rampart-crypto-cli-');
    const kr = await makeKeyring(t.dir, ['models']);
    await kr.providers.close();
    env = { RAMPART_KEYRING: kr.path, RAMPART_KEYRING_PASSPHRASE: TEST_PASSPHRASE };
    await writeFile(join(t.dir, 'model.bin'), data);
  });
  afterAll(async () => t.cleanup());

  it('encrypts; decrypt refuses tampering and a wrong passphrase (exit 2, coded, nothing left, no secret echoed); --to-temp serves a private copy', async () => {
    const enc = await rampart(['encrypt', join(t.dir, 'model.bin'), '-o', join(t.dir, 'model.bin.enc'), '--key', 'local:models', '--aad', 'clf-1'], env);
    expect(enc.code, enc.stderr).toBe(0);

    const bytes = await readFile(join(t.dir, 'model.bin.enc'));
    bytes[bytes.length - 100]! ^= 1;
    await writeFile(join(t.dir, 'bad.enc'), bytes);
    const secret = 'Tr0ub4dor&3-wrong';
    const script = [
      'const fs = require("fs"); const p = process.argv[1];',
      'const st = fs.statSync(require("path").dirname(p));',
      'const h = require("crypto").createHash("sha256").update(fs.readFileSync(p)).digest("hex");',
      'fs.writeFileSync(process.argv[2], JSON.stringify({ p, env: process.env.RAMPART_DECRYPTED_PATH, mode: st.mode & 0o777, h }));',
      'process.exit(3);',
    ].join(' ');
    const report = join(t.dir, 'report.json');
    // Independent runs in parallel: each spawn loads the whole CLI, which is slow on a busy machine.
    const [bad, wrongPass, temp] = await Promise.all([
      rampart(['decrypt', join(t.dir, 'bad.enc'), '-o', join(t.dir, 'bad.bin')], env),
      rampart(['decrypt', join(t.dir, 'model.bin.enc'), '-o', join(t.dir, 'never.bin')], { ...env, RAMPART_KEYRING_PASSPHRASE: secret, RAMPART_LOG_LEVEL: 'debug' }),
      rampart(['decrypt', join(t.dir, 'model.bin.enc'), '--aad', 'clf-1', '--to-temp', '--', process.execPath, '-e', script, '{}', report], env),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\[RAMPART_ERR_CRYPTO_CORRUPTED\]/);
    expect(wrongPass.code).toBe(2);
    expect(wrongPass.stderr).toMatch(/\[RAMPART_ERR_CRYPTO_WRONG_PASSPHRASE\]/);
    expect(wrongPass.stderr + wrongPass.stdout).not.toContain(secret);
    expect(wrongPass.stderr + wrongPass.stdout).not.toContain(TEST_PASSPHRASE);
    expect((await readdir(t.dir)).filter((f) => f.startsWith('bad') || f.startsWith('never') || f.includes('.tmp'))).toEqual(['bad.enc']);

    expect(temp.code, temp.stderr).toBe(3);
    const seen = JSON.parse(await readFile(report, 'utf8'));
    expect(seen).toMatchObject({ mode: 0o700, h: createHash('sha256').update(data).digest('hex') });
    expect(seen.env).toBe(seen.p);
    expect(seen.p.endsWith('/model.bin')).toBe(true);
    await expect(readFile(seen.p)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('encrypt -o FIFO streams into it (exit 0, FIFO kept); decrypt -o FIFO exits 2 with RAMPART_ERR_OUTPUT_NOT_REGULAR', async () => {
    const dir = join(t.dir, 'fifos');
    await mkdir(dir);
    const fifo = makeFifo(dir, 'out.enc');
    if (!fifo) return;
    const got = drainFifo(fifo, 120_000);
    const [enc, dec] = await Promise.all([
      rampart(['encrypt', join(t.dir, 'model.bin'), '-o', fifo, '--key', 'local:models'], env),
      rampart(['decrypt', join(t.dir, 'model.bin.enc'), '-o', makeFifo(dir, 'plain.bin')!], env),
    ]);
    expect(enc.code, enc.stderr).toBe(0);
    const cipher = await got;
    expect(cipher.length).toBeGreaterThan(data.length);
    expect(dec.code).toBe(2);
    expect(dec.stderr).toMatch(/\[RAMPART_ERR_OUTPUT_NOT_REGULAR\]/);
    expect((await readdir(dir)).sort()).toEqual(['out.enc', 'out.enc.read', 'plain.bin']);
    const { lstat } = await import('node:fs/promises');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it('rewrap after a rotation, keys retire --key-version and keys list --keyring', async () => {
    const kr = await Keyring.open(env.RAMPART_KEYRING!, TEST_PASSPHRASE);
    await kr.rotate('models');
    kr.close();
    const rw = await rampart(['rewrap', join(t.dir, 'model.bin.enc'), '--json'], env);
    expect(rw.code, rw.stderr).toBe(0);
    expect(JSON.parse(rw.stdout)[0]).toMatchObject({ changed: true, from: { keyVersion: '1' }, to: { keyVersion: '2' } });
    const ret = await rampart(['keys', 'retire', 'models', '--key-version', '1'], env);
    expect(ret.code, ret.stderr).toBe(0);
    const list = await rampart(['keys', 'list', '--keyring', env.RAMPART_KEYRING!, '--format', 'json']);
    expect(list.code, list.stderr).toBe(0);
    const kek = JSON.parse(list.stdout)[0];
    expect(kek.name).toBe('models');
    expect(kek.versions.map((v: { retired: string | null }) => v.retired !== null)).toEqual([true, false]);
  });

  it('SIGTERM during decryption removes the partial plaintext', async () => {
    const big = join(t.dir, 'big');
    await mkdir(big);
    const chunk = seededBytes('big', 1024 * 1024);
    await writeFile(join(big, 'in.bin'), Buffer.concat(Array.from({ length: 48 }, () => chunk)));
    const kr = await Keyring.open(env.RAMPART_KEYRING!, TEST_PASSPHRASE);
    kr.close();
    const providers = new ProviderSet({ keyringPath: env.RAMPART_KEYRING!, passphrase: TEST_PASSPHRASE });
    await encryptFile(join(big, 'in.bin'), join(big, 'in.enc'), { key: 'local:models', providers });
    await providers.close();
    const { sawTemp, sig } = await termWhenTempAppears(['decrypt', join(big, 'in.enc'), '-o', join(big, 'out.bin')], env, big, 5);
    // On a fast machine decryption may finish before we see the temp file; then there is nothing to test.
    if (sawTemp) {
      expect(sig).toBe('SIGTERM');
      expect((await readdir(big)).sort()).toEqual(['in.bin', 'in.enc']);
    }
  });

  it('SIGTERM during encryption (native file job, keyring unlock in flight) removes the partial ciphertext', async () => {
    const dir = join(t.dir, 'sigterm-enc');
    await mkdir(dir);
    const chunk = seededBytes('sigterm-enc', 1024 * 1024);
    await writeFile(join(dir, 'in.bin'), Buffer.concat(Array.from({ length: 96 }, () => chunk)));
    const { sawTemp, sig } = await termWhenTempAppears(['encrypt', join(dir, 'in.bin'), '-o', join(dir, 'in.enc'), '--key', 'local:models'], env, dir, 2);
    // On a fast machine encryption may finish before we see the temp file; then there is nothing to test.
    if (sawTemp && sig !== null) {
      expect(sig).toBe('SIGTERM');
      expect(await readdir(dir)).toEqual(['in.bin']);
    }
  });

  it('a write failing in the middle of the file (file size limit) fails encrypt with exit 2 and leaves nothing behind', async () => {
    const dir = join(t.dir, 'fsize');
    await mkdir(dir);
    await writeFile(join(dir, 'in.bin'), seededBytes('fsize', 4 * 1024 * 1024));
    // `ulimit -f` counts 1024-byte blocks: writes past 2 MiB fail with EFBIG (Node ignores SIGXFSZ).
    const run = await rampart(['encrypt', join(dir, 'in.bin'), '-o', join(dir, 'in.enc'), '--key', 'local:models'], env, undefined, 'ulimit -f 2048');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/file too large/i);
    expect(await readdir(dir)).toEqual(['in.bin']);
  });
});

