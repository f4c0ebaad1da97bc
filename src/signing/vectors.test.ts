// The reference implementation's cross-version vectors: each must verify, and each tampering
// (one byte changed, a file added or removed, the signature or payload altered, a bundle for
// another model, the wrong key or CA) must fail with its code.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyModel, type VerifyOptions } from './verify.js';
import { copyVector, KEYS, SINGLE_FILE_VECTORS, tempDir, vectorDirs } from './testing/vectors.js';

const PUB = readFileSync(path.join(KEYS, 'signing-key-pub.pem'));
const CA = readFileSync(path.join(KEYS, 'ca-cert.pem'));
const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

function copy(name: string): string {
  const c = copyVector(name);
  cleanups.push(c.cleanup);
  return c.dir;
}

function trust(name: string): Pick<VerifyOptions, 'publicKey' | 'caPem'> {
  return name.endsWith('elliptic-key') ? { publicKey: PUB } : { caPem: CA };
}

function opts(name: string, dir: string, extra: Partial<VerifyOptions> = {}): VerifyOptions {
  const single = SINGLE_FILE_VECTORS.has(name);
  return {
    modelPath: single ? path.join(dir, 'signme-1') : dir,
    signaturePath: path.join(dir, 'model.sig'),
    ignorePaths: [path.join(dir, 'ignore-me')],
    ...trust(name),
    ...extra,
  };
}

function flipByte(file: string, at = 0): void {
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x01;
  writeFileSync(file, b);
}

const signedVectors = [...vectorDirs('elliptic-key'), ...vectorDirs('certificate')];

describe('reference vectors', () => {
  it('finds every expected version', () => {
    expect(signedVectors).toEqual(
      expect.arrayContaining(['v0.2.0-certificate', 'v0.3.1-elliptic-key', 'v1.0.0-certificate', 'v1.0.1-elliptic-key', 'v1.1.0-certificate', 'v1.1.0-elliptic-key']),
    );
  });

  describe.each(signedVectors)('%s', (name) => {
    const single = SINGLE_FILE_VECTORS.has(name);
    const signed = single ? ['signme-1'] : ['signme-1', 'signme-2'];

    it('verifies', async () => {
      const dir = copy(name);
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: true });
    });

    it.each(signed)('fails when one byte of %s changes', async (file) => {
      const dir = copy(name);
      flipByte(path.join(dir, file), 3);
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
    });

    it.skipIf(single)('fails when a file is added', async () => {
      const dir = copy(name);
      writeFileSync(path.join(dir, 'extra.bin'), 'x');
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_EXTRA' });
    });

    it.skipIf(single)('fails when a signed file is removed', async () => {
      const dir = copy(name);
      rmSync(path.join(dir, 'signme-2'));
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISSING' });
    });

    it('fails when the signature bytes are altered', async () => {
      const dir = copy(name);
      const sigFile = path.join(dir, 'model.sig');
      const b = JSON.parse(readFileSync(sigFile, 'utf8'));
      const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
      sig[sig.length - 5] = sig[sig.length - 5]! ^ 0x40;
      b.dsseEnvelope.signatures[0].sig = sig.toString('base64');
      writeFileSync(sigFile, JSON.stringify(b));
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_SIGNATURE_INVALID' });
    });

    it('fails when the signed statement is altered', async () => {
      const dir = copy(name);
      const sigFile = path.join(dir, 'model.sig');
      const b = JSON.parse(readFileSync(sigFile, 'utf8'));
      const stmt = Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8');
      // Point the statement at the tampered content: replace one digest with the digest of "evil".
      const tampered = stmt.replace(/[0-9a-f]{64}/, 'c1f1a5e6b5a0a8c54f79b9e03d36bb3b2b0dc4fb0ed7e5d1e4e9e1e2b2f6a7d8');
      b.dsseEnvelope.payload = Buffer.from(tampered).toString('base64');
      writeFileSync(sigFile, JSON.stringify(b));
      const r = await verifyModel(opts(name, dir));
      expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_SIGNATURE_INVALID' });
    });

    it('fails with the wrong key or CA', async () => {
      const dir = copy(name);
      if (name.endsWith('elliptic-key')) {
        const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' });
        const r = await verifyModel(opts(name, dir, { publicKey: Buffer.from(other) }));
        // v1.1 bundles carry a key hint (caught first); older ones fail on the signature.
        expect(r.ok).toBe(false);
        expect(['RAMPART_ERR_VERIFY_KEY_MISMATCH', 'RAMPART_ERR_VERIFY_SIGNATURE_INVALID']).toContain(!r.ok && r.code);
        if (name.startsWith('v1.1')) expect(r).toMatchObject({ code: 'RAMPART_ERR_VERIFY_KEY_MISMATCH' });
      } else {
        const r = await verifyModel(opts(name, dir, { caPem: otherCa() }));
        expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_CHAIN_INVALID' });
      }
    });
  });

  it('v1.0.1 vectors do not record ignore-me, so it must be ignored explicitly', async () => {
    const dir = copy('v1.0.1-elliptic-key');
    const r = await verifyModel(opts('v1.0.1-elliptic-key', dir, { ignorePaths: [] }));
    expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_EXTRA' });
  });

  it('v1.1.0 vectors record ignore-me in the bundle, so it is ignored without a flag', async () => {
    const dir = copy('v1.1.0-elliptic-key');
    const r = await verifyModel(opts('v1.1.0-elliptic-key', dir, { ignorePaths: [] }));
    expect(r).toMatchObject({ ok: true });
  });

  it('an --ignore-paths entry may be relative to the model directory', async () => {
    const dir = copy('v1.0.1-certificate');
    const r = await verifyModel(opts('v1.0.1-certificate', dir, { ignorePaths: ['ignore-me'] }));
    expect(r).toMatchObject({ ok: true });
  });

  it('a bundle for another model fails', async () => {
    const keyDir = copy('v1.1.0-elliptic-key');
    const certDir = copy('v1.1.0-certificate');
    // The key-mode bundle signs different content than the certificate vector's files.
    const r1 = await verifyModel({ modelPath: certDir, signaturePath: path.join(keyDir, 'model.sig'), publicKey: PUB, ignorePaths: ['ignore-me'] });
    expect(r1).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
    const r2 = await verifyModel({ modelPath: keyDir, signaturePath: path.join(certDir, 'model.sig'), caPem: CA, ignorePaths: ['ignore-me'] });
    expect(r2).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
  });

  it('a single-file signature checked against its directory says so', async () => {
    const dir = copy('v1.0.0-elliptic-key');
    const r = await verifyModel({ modelPath: dir, signaturePath: path.join(dir, 'model.sig'), publicKey: PUB });
    expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISSING' });
  });

  it('v0.2.0 verifies only through the legacy PAE fallback', async () => {
    const dir = copy('v0.2.0-certificate');
    const r = await verifyModel(opts('v0.2.0-certificate', dir));
    expect(r).toMatchObject({ ok: true, statementVersion: 'v0.1', legacyPae: true });
  });

  it.each(vectorDirs('sigstore'))('%s: keyless bundles parse and are refused with a coded error', async (name) => {
    const dir = copy(name);
    await expect(verifyModel({ modelPath: dir, signaturePath: path.join(dir, 'model.sig'), publicKey: PUB, ignorePaths: ['ignore-me'] })).rejects.toMatchObject({
      code: 'RAMPART_ERR_VERIFY_KEYLESS_UNSUPPORTED',
    });
  });
});

let otherCaPem: Buffer | undefined;
function otherCa(): Buffer {
  if (otherCaPem) return otherCaPem;
  const t = tempDir('rampart-otherca-');
  cleanups.push(t.cleanup);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=root-ca', '-days', '3650',
    '-keyout', path.join(t.dir, 'k.pem'), '-out', path.join(t.dir, 'c.pem'),
  ], { stdio: 'ignore' });
  otherCaPem = readFileSync(path.join(t.dir, 'c.pem'));
  return otherCaPem;
}
