// End-to-end: `rampart sign` and `rampart verify` as a user runs them (bin/rampart.js over dist/,
// which `npm test` builds first), checking exit codes 0 / 1 / 2 and the one-line reasons.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/rampart.js');
const VECTORS = path.resolve(ROOT, '../shared/data/model-signing-vectors');
const built = existsSync(path.join(ROOT, 'dist/cli/commands/sign.js'));

const work = mkdtempSync(path.join(tmpdir(), 'rampart-sign-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rampart(args: string[], cwd = work) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
writeFileSync(path.join(work, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
writeFileSync(path.join(work, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }) as string);
const model = path.join(work, 'model');
mkdirSync(model);
writeFileSync(path.join(model, 'weights.bin'), Buffer.alloc(4096, 7));
writeFileSync(path.join(model, 'config.json'), '{}');

describe.skipIf(!built)('rampart sign / verify CLI', () => {
  it('signs to model.sig in the working directory by default and verifies (exit 0)', () => {
    const s = rampart(['sign', 'model', '--key', 'key.pem']);
    expect(s.code, s.stderr).toBe(0);
    expect(existsSync(path.join(work, 'model.sig'))).toBe(true);
    const v = rampart(['verify', 'model', '--signature', 'model.sig', '--key', 'pub.pem']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/2 files match/);
  });

  it('signs into the model directory and ignores the signature file itself', () => {
    expect(rampart(['sign', 'model', '--key', 'key.pem', '--signature', 'model/model.sig']).code).toBe(0);
    const v = rampart(['verify', 'model', '--signature', 'model/model.sig', '--key', 'pub.pem', '--format', 'json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, items: 2 });
  });

  it('exit 1 with a one-line coded reason when a file changed', () => {
    expect(rampart(['sign', 'model', '--key', 'key.pem', '--signature', 'm1.sig']).code).toBe(0);
    writeFileSync(path.join(model, 'config.json'), '{"x":1}');
    const v = rampart(['verify', 'model', '--signature', 'm1.sig', '--key', 'pub.pem']);
    writeFileSync(path.join(model, 'config.json'), '{}');
    expect(v.code).toBe(1);
    expect(v.stderr.trim().split('\n')).toHaveLength(1);
    expect(v.stderr).toContain('[RAMPART_ERR_VERIFY_FILE_MISMATCH]');
    expect(v.stderr).toContain('config.json');
  });

  it('exit 2 for a malformed bundle, a bad key file and a keyless bundle', () => {
    writeFileSync(path.join(work, 'bad.sig'), '{"mediaType": 5');
    expect(rampart(['verify', 'model', '--signature', 'bad.sig', '--key', 'pub.pem'])).toMatchObject({ code: 2 });
    expect(rampart(['verify', 'model', '--signature', 'bad.sig', '--key', 'pub.pem']).stderr).toContain('RAMPART_ERR_VERIFY_BUNDLE_MALFORMED');
    writeFileSync(path.join(work, 'junk.pem'), 'junk');
    const k = rampart(['verify', 'model', '--signature', 'model.sig', '--key', 'junk.pem']);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain('RAMPART_ERR_VERIFY_KEY_INVALID');
    const s = rampart(['sign', 'model', '--key', 'junk.pem', '--signature', 'x.sig']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('RAMPART_ERR_SIGN_KEY_INVALID');
    expect(existsSync(path.join(work, 'x.sig'))).toBe(false);
    const dir = path.join(VECTORS, 'v1.1.0-sigstore');
    const ks = rampart(['verify', dir, '--signature', path.join(dir, 'model.sig'), '--key', 'pub.pem']);
    expect(ks.code).toBe(2);
    expect(ks.stderr).toContain('RAMPART_ERR_VERIFY_KEYLESS_UNSUPPORTED');
  });

  it('verifies the reference vectors from the command line', () => {
    const key = path.join(VECTORS, 'v1.0.1-elliptic-key');
    const k = rampart(['verify', key, '--signature', path.join(key, 'model.sig'), '--key', path.join(VECTORS, 'keys/certificate/signing-key-pub.pem'), '--ignore-paths', path.join(key, 'ignore-me')]);
    expect(k.code, k.stderr).toBe(0);
    const cert = path.join(VECTORS, 'v1.1.0-certificate');
    const c = rampart(['verify', cert, '--signature', path.join(cert, 'model.sig'), '--cert-chain', path.join(VECTORS, 'keys/certificate/ca-cert.pem')]);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(path.join(cert, 'model.sig')).length).toBeGreaterThan(0);
  });
});
