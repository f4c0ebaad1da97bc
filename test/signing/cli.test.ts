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

// Each spawn loads the whole CLI (about a second, several on a loaded machine): keep them few.
describe.skipIf(!built)('rampart sign / verify CLI', { timeout: 90_000 }, () => {
  it('signs to model.sig in the working directory by default and verifies (exit 0), ignoring the signature file', () => {
    const s = rampart(['sign', 'model', '--key', 'key.pem']);
    expect(s.code, s.stderr).toBe(0);
    expect(existsSync(path.join(work, 'model.sig'))).toBe(true);
    // Put the signature inside the model, as the reference vectors do: it must be ignored.
    writeFileSync(path.join(model, 'model.sig'), readFileSync(path.join(work, 'model.sig')));
    const v = rampart(['verify', 'model', '--signature', 'model/model.sig', '--key', 'pub.pem', '--format', 'json']);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, items: 2, mode: 'key' });
  });

  it('exit 1 with a one-line coded reason when a file changed', () => {
    if (!existsSync(path.join(work, 'model.sig'))) expect(rampart(['sign', 'model', '--key', 'key.pem']).code).toBe(0);
    writeFileSync(path.join(model, 'config.json'), '{"x":1}');
    const v = rampart(['verify', 'model', '--signature', 'model.sig', '--key', 'pub.pem']);
    writeFileSync(path.join(model, 'config.json'), '{}');
    expect(v.code).toBe(1);
    expect(v.stderr.trim().split('\n')).toHaveLength(1);
    expect(v.stderr).toContain('[RAMPART_ERR_VERIFY_FILE_MISMATCH]');
    expect(v.stderr).toContain('config.json');
  });

  it('exit 2 for a malformed bundle and for a bad key file, leaving no signature behind', () => {
    writeFileSync(path.join(work, 'bad.sig'), '{"mediaType": 5');
    const b = rampart(['verify', 'model', '--signature', 'bad.sig', '--key', 'pub.pem']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('RAMPART_ERR_VERIFY_BUNDLE_MALFORMED');
    writeFileSync(path.join(work, 'junk.pem'), 'junk');
    const s = rampart(['sign', 'model', '--key', 'junk.pem', '--signature', 'x.sig']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('RAMPART_ERR_SIGN_KEY_INVALID');
    expect(existsSync(path.join(work, 'x.sig'))).toBe(false);
  });

  it('verifies a reference certificate-mode vector from the command line', () => {
    const cert = path.join(VECTORS, 'v1.1.0-certificate');
    const c = rampart(['verify', cert, '--signature', path.join(cert, 'model.sig'), '--cert-chain', path.join(VECTORS, 'keys/certificate/ca-cert.pem')]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('CN=root-ca');
  });
});
