// Own bundles: round trips in key and certificate mode, on P-256 and P-384, by files and by
// shards; the same tampering rules as the reference vectors; the bundle has the reference v1.x
// structure; bad input gives coded errors and never a partial signature file.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../test/helpers/fifo.js';
import { signModel, type SignOptions } from './sign.js';
import { verifyModel } from './verify.js';
import { KEYS, tempDir, VECTORS } from './testing/vectors.js';
import { PREDICATE_TYPE_V1 } from './statement.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));
function tmp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Deterministic pseudo-random bytes (xorshift32) so fixtures are reproducible. */
function seeded(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function makeModel(): string {
  const dir = path.join(tmp(), 'tiny-model');
  mkdirSync(path.join(dir, 'weights'), { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{"layers": 2}\n');
  writeFileSync(path.join(dir, 'weights', 'part-0.bin'), seeded(1, 70_000));
  writeFileSync(path.join(dir, 'weights', 'part-1.bin'), seeded(2, 33_333));
  writeFileSync(path.join(dir, 'weights.bin'), seeded(3, 1000));
  writeFileSync(path.join(dir, 'empty'), '');
  mkdirSync(path.join(dir, '.git'));
  writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

function keyPair(curve: 'prime256v1' | 'secp384r1') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return {
    priv: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    pub: Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

const P256 = keyPair('prime256v1');
const P384 = keyPair('secp384r1');

function flip(file: string, at: number): void {
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x80;
  writeFileSync(file, b);
}

describe.each([
  ['P-256 files', P256, {}],
  ['P-384 files', P384, {}],
  ['P-256 shards', P256, { method: 'shards' as const, shardSize: 16_384 }],
])('own bundles, %s', (_label, keys, extra: Partial<SignOptions>) => {
  const sign = async (dir: string) => {
    const sig = path.join(dir, 'model.sig');
    await signModel({ modelPath: dir, privateKeyPem: keys.priv, signaturePath: sig, ...extra });
    return sig;
  };

  it('round-trips and ignores the signature file and .git', async () => {
    const dir = makeModel();
    const sig = await sign(dir);
    const r = await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub });
    expect(r).toMatchObject({ ok: true, method: extra.method ?? 'files' });
    // Changing ignored content does not matter.
    writeFileSync(path.join(dir, '.git', 'HEAD'), 'changed');
    expect((await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub })).ok).toBe(true);
  });

  it.each(['config.json', 'weights/part-0.bin', 'weights/part-1.bin', 'weights.bin'])('a one-byte change in %s fails', async (file) => {
    const dir = makeModel();
    const sig = await sign(dir);
    const size = readFileSync(path.join(dir, file)).length;
    flip(path.join(dir, file), size - 1);
    const r = await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub });
    expect(r).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
    expect(!r.ok && r.reason).toContain(file);
  });

  it('an appended byte, an extra file and a missing file fail', async () => {
    const dir = makeModel();
    const sig = await sign(dir);
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([seeded(3, 1000), Buffer.from([0])]));
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub })).toMatchObject({ code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
    writeFileSync(path.join(dir, 'weights.bin'), seeded(3, 1000));
    writeFileSync(path.join(dir, 'weights', 'part-2.bin'), 'new');
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub })).toMatchObject({ code: 'RAMPART_ERR_VERIFY_FILE_EXTRA' });
    rmSync(path.join(dir, 'weights', 'part-2.bin'));
    rmSync(path.join(dir, 'weights', 'part-1.bin'));
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: keys.pub })).toMatchObject({ code: 'RAMPART_ERR_VERIFY_FILE_MISSING' });
  });

  it('a wrong key fails', async () => {
    const dir = makeModel();
    const sig = await sign(dir);
    const other = keys === P256 ? P384 : P256;
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: other.pub })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_KEY_MISMATCH' });
    // Without the hint, the signature itself must fail.
    const b = JSON.parse(readFileSync(sig, 'utf8'));
    delete b.verificationMaterial.publicKey.hint;
    writeFileSync(sig, JSON.stringify(b));
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: other.pub })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_SIGNATURE_INVALID' });
  });

  it('a bundle for another directory fails', async () => {
    const a = makeModel();
    const b = makeModel();
    writeFileSync(path.join(b, 'config.json'), '{"layers": 3}\n');
    const sig = await sign(a);
    expect(await verifyModel({ modelPath: b, signaturePath: sig, publicKey: keys.pub })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
  });
});

describe('bundle structure', () => {
  it('matches the reference v1.1 key-mode bundle field for field', async () => {
    const dir = makeModel();
    const sig = path.join(dir, 'model.sig');
    await signModel({ modelPath: dir, privateKeyPem: P384.priv, signaturePath: sig, ignorePaths: ['empty'] });
    const ours = JSON.parse(readFileSync(sig, 'utf8'));
    const ref = JSON.parse(readFileSync(path.join(VECTORS, 'v1.1.0-elliptic-key', 'model.sig'), 'utf8'));
    const shape = (v: unknown): unknown =>
      Array.isArray(v) ? v.slice(0, 1).map(shape) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])])) : typeof v;
    expect(shape(ours)).toEqual(shape(ref));
    const ourStmt = JSON.parse(Buffer.from(ours.dsseEnvelope.payload, 'base64').toString());
    const refStmt = JSON.parse(Buffer.from(ref.dsseEnvelope.payload, 'base64').toString());
    expect(shape(ourStmt)).toEqual(shape(refStmt));
    expect(ourStmt.predicateType).toBe(PREDICATE_TYPE_V1);
    expect(ourStmt.subject[0].name).toBe('tiny-model');
    expect(ourStmt.predicate.serialization.ignore_paths).toEqual(['.git', '.gitattributes', '.github', '.gitignore', 'empty', 'model.sig']);
    // Resources are sorted by path components ("weights/..." before "weights.bin") and carry plain file SHA-256s.
    expect(ourStmt.predicate.resources.map((r: { name: string }) => r.name)).toEqual(['config.json', 'weights/part-0.bin', 'weights/part-1.bin', 'weights.bin']);
    expect(ourStmt.predicate.resources[3].digest).toBe(createHash('sha256').update(seeded(3, 1000)).digest('hex'));
    // The subject digest is SHA-256 over the raw resource digests in order.
    const root = createHash('sha256');
    for (const r of ourStmt.predicate.resources) root.update(Buffer.from(r.digest, 'hex'));
    expect(ourStmt.subject[0].digest.sha256).toBe(root.digest('hex'));
  });

  it('matches the reference v1.1 certificate-mode bundle shape, with the leaf first', async () => {
    const dir = makeModel();
    const sig = path.join(dir, 'model.sig');
    // Chain file in "wrong" order: the leaf is found by its key and put first.
    const chain = Buffer.concat([readFileSync(path.join(KEYS, 'int-ca-cert.pem')), readFileSync(path.join(KEYS, 'signing-key-cert.pem'))]);
    await signModel({ modelPath: dir, privateKeyPem: readFileSync(path.join(KEYS, 'signing-key.pem')), certChainPem: chain, signaturePath: sig });
    const ours = JSON.parse(readFileSync(sig, 'utf8'));
    const ref = JSON.parse(readFileSync(path.join(VECTORS, 'v1.1.0-certificate', 'model.sig'), 'utf8'));
    expect(Object.keys(ours.verificationMaterial).sort()).toEqual(Object.keys(ref.verificationMaterial).sort());
    expect(ours.verificationMaterial.x509CertificateChain.certificates.map((c: { rawBytes: string }) => c.rawBytes)).toEqual(
      ref.verificationMaterial.x509CertificateChain.certificates.map((c: { rawBytes: string }) => c.rawBytes),
    );
    const r = await verifyModel({ modelPath: dir, signaturePath: sig, caPem: readFileSync(path.join(KEYS, 'ca-cert.pem')) });
    expect(r).toMatchObject({ ok: true, mode: 'certificate' });
    // The leaf's key also verifies it in key mode, as with the reference.
    const leafKey = readFileSync(path.join(KEYS, 'signing-key-pub.pem'));
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: leafKey })).toMatchObject({ ok: true });
    // Wrong CA: the intermediate's issuer is not trusted.
    const other = otherCa();
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, caPem: other })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_CHAIN_INVALID' });
    // A key-mode bundle checked against a CA fails.
    const keySig = path.join(dir, 'key.sig');
    await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: keySig });
    expect(await verifyModel({ modelPath: dir, signaturePath: keySig, caPem: readFileSync(path.join(KEYS, 'ca-cert.pem')), ignorePaths: ['model.sig'] })).toMatchObject({
      ok: false,
      code: 'RAMPART_ERR_VERIFY_CHAIN_INVALID',
    });
  });

  it('P-256 certificate mode with a generated CA, and a leaf that may not sign is refused', () => {
    const d = tmp();
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test-root', '-days', '30', '-keyout', 'ca.key', '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=signer', '-keyout', 'leaf.key', '-out', 'leaf.csr');
    writeFileSync(path.join(d, 'ok.ext'), 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
    writeFileSync(path.join(d, 'bad.ext'), 'keyUsage=critical,keyEncipherment\n');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '10', '-extfile', 'ok.ext', '-out', 'leaf.pem');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '10', '-extfile', 'bad.ext', '-out', 'leaf-bad.pem');
    return (async () => {
      const model = makeModel();
      const sig = path.join(d, 'm.sig');
      await signModel({ modelPath: model, privateKeyPem: readFileSync(path.join(d, 'leaf.key')), certChainPem: readFileSync(path.join(d, 'leaf.pem')), signaturePath: sig });
      expect(await verifyModel({ modelPath: model, signaturePath: sig, caPem: readFileSync(path.join(d, 'ca.pem')) })).toMatchObject({ ok: true });
      await signModel({ modelPath: model, privateKeyPem: readFileSync(path.join(d, 'leaf.key')), certChainPem: readFileSync(path.join(d, 'leaf-bad.pem')), signaturePath: sig });
      expect(await verifyModel({ modelPath: model, signaturePath: sig, caPem: readFileSync(path.join(d, 'ca.pem')) })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_CHAIN_INVALID' });
    })();
  });
});

describe('certificate validity is judged at the signing certificate\'s notBefore (as the reference does)', () => {
  // Builds a CA and a leaf with chosen validity windows through `openssl ca` (x509 -req cannot backdate).
  function pki(caStart: string, caEnd: string, leafStart: string, leafEnd: string): { dir: string } {
    const d = tmp();
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
    writeFileSync(
      path.join(d, 'ca.cnf'),
      [
        '[ca]', 'default_ca = d', '[d]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial', 'default_md = sha256',
        'policy = p', 'unique_subject = no', '[p]', 'commonName = supplied',
        '[v3_ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign',
        '[leaf]', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = codeSigning', '',
      ].join('\n'),
    );
    writeFileSync(path.join(d, 'index.txt'), '');
    writeFileSync(path.join(d, 'serial'), '01\n');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=dated-root', '-keyout', 'ca.key', '-out', 'ca.csr');
    run('ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'ca.key', '-in', 'ca.csr', '-out', 'ca.pem', '-notext', '-extensions', 'v3_ca', '-startdate', caStart, '-enddate', caEnd);
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=dated-signer', '-keyout', 'leaf.key', '-out', 'leaf.csr');
    run('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'leaf.csr', '-out', 'leaf.pem', '-notext', '-extensions', 'leaf', '-startdate', leafStart, '-enddate', leafEnd);
    return { dir: d };
  }

  async function signAndVerify(d: string) {
    const model = makeModel();
    const sig = path.join(d, 'm.sig');
    await signModel({ modelPath: model, privateKeyPem: readFileSync(path.join(d, 'leaf.key')), certChainPem: readFileSync(path.join(d, 'leaf.pem')), signaturePath: sig });
    return verifyModel({ modelPath: model, signaturePath: sig, caPem: readFileSync(path.join(d, 'ca.pem')) });
  }

  it('a signing certificate that expired in 2025 still verifies', async () => {
    const { dir } = pki('20240101000000Z', '20340101000000Z', '20250101000000Z', '20250102000000Z');
    expect(await signAndVerify(dir)).toMatchObject({ ok: true });
  });

  it('a CA that was not yet valid when the signing certificate was issued fails', async () => {
    const { dir } = pki('20250601000000Z', '20340101000000Z', '20250101000000Z', '20350102000000Z');
    expect(await signAndVerify(dir)).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_CHAIN_INVALID' });
  });
});

describe('model shapes', () => {
  it('signs a single file as resource "."', async () => {
    const dir = makeModel();
    const file = path.join(dir, 'weights.bin');
    const sig = path.join(tmp(), 'single.sig');
    const r = await signModel({ modelPath: file, privateKeyPem: P256.priv, signaturePath: sig });
    expect(r.manifest.items.map((i) => i.name)).toEqual(['.']);
    expect(await verifyModel({ modelPath: file, signaturePath: sig, publicKey: P256.pub })).toMatchObject({ ok: true });
  });

  it('refuses symlinks unless allowed, and records the choice', async () => {
    const dir = makeModel();
    symlinkSync('weights.bin', path.join(dir, 'alias.bin'));
    const sig = path.join(tmp(), 'm.sig');
    await expect(signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_MODEL_INVALID' });
    await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: sig, allowSymlinks: true });
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: P256.pub })).toMatchObject({ ok: true, items: 6 });
    // Signed without symlinks, verified with one added afterwards: fails.
    const dir2 = makeModel();
    const sig2 = path.join(tmp(), 'm2.sig');
    await signModel({ modelPath: dir2, privateKeyPem: P256.priv, signaturePath: sig2 });
    symlinkSync('config.json', path.join(dir2, 'alias.json'));
    expect(await verifyModel({ modelPath: dir2, signaturePath: sig2, publicKey: P256.pub })).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_SYMLINK' });
  });

  it('hashes many files in parallel with both strategies to the same manifest', async () => {
    const dir = path.join(tmp(), 'many');
    mkdirSync(dir);
    for (let i = 0; i < 40; i++) writeFileSync(path.join(dir, `f${i}`), seeded(i + 10, 5000 + i));
    const a = await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: path.join(tmp(), 'a.sig'), hash: { strategy: 'workers' } });
    const b = await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: path.join(tmp(), 'b.sig'), hash: { strategy: 'streams', chunkSize: 1024 } });
    expect(a.manifest.items).toEqual(b.manifest.items);
    expect(a.manifest.items[0]!.digest).toBe(createHash('sha256').update(seeded(10, 5000)).digest('hex'));
  });
});

describe('bad input', () => {
  it('rejects non-EC, unsupported-curve and garbage keys', async () => {
    const dir = makeModel();
    const sig = path.join(tmp(), 'x.sig');
    const rsa = Buffer.from(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const k1 = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    for (const key of [rsa, k1, Buffer.from('not a key'), P256.pub]) {
      await expect(signModel({ modelPath: dir, privateKeyPem: key, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_KEY_INVALID' });
    }
    await expect(verifyModel({ modelPath: dir, signaturePath: sig, publicKey: Buffer.from('junk') })).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_KEY_INVALID' });
    await expect(verifyModel({ modelPath: dir, signaturePath: sig, caPem: Buffer.from('junk') })).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_CA_INVALID' });
  });

  it('rejects a certificate chain that does not hold the key', async () => {
    const dir = makeModel();
    await expect(
      signModel({ modelPath: dir, privateKeyPem: P256.priv, certChainPem: readFileSync(path.join(KEYS, 'signing-key-cert.pem')), signaturePath: path.join(tmp(), 'x.sig') }),
    ).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_CERT_INVALID' });
  });

  it('missing model, empty model and unreadable file', async () => {
    const sig = path.join(tmp(), 'x.sig');
    await expect(signModel({ modelPath: path.join(tmp(), 'nope'), privateKeyPem: P256.priv, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_MODEL_INVALID' });
    const empty = tmp();
    await expect(signModel({ modelPath: empty, privateKeyPem: P256.priv, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_MODEL_INVALID' });
    if (process.getuid?.() !== 0) {
      const dir = makeModel();
      chmodSync(path.join(dir, 'weights.bin'), 0o000);
      await expect(signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_READ_FAILED' });
      chmodSync(path.join(dir, 'weights.bin'), 0o644);
    }
  });

  it('leaves no partial signature file when the target cannot be written', async () => {
    const dir = makeModel();
    const outDir = path.join(tmp(), 'missing-dir');
    await expect(signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: path.join(outDir, 'm.sig') })).rejects.toMatchObject({
      code: 'RAMPART_ERR_SIGN_WRITE_FAILED',
    });
    const target = path.join(tmp(), 'is-a-dir');
    mkdirSync(target);
    await expect(signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: target })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_WRITE_FAILED' });
    expect(readdirSync(path.dirname(target))).toEqual(['is-a-dir']);
  });

  it('writes the bundle into a FIFO (never renamed over it) and through a symbolic link (link kept)', async () => {
    const dir = makeModel();
    const out = tmp();
    const fifo = makeFifo(out);
    if (fifo) {
      const got = drainFifo(fifo);
      await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: fifo });
      const piped = (await got).toString();
      expect(JSON.parse(piped)).toHaveProperty('mediaType');
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
    const real = path.join(out, 'real.sig');
    const link = path.join(out, 'link.sig');
    writeFileSync(real, 'old');
    symlinkSync('real.sig', link);
    await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: link });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect((await verifyModel({ modelPath: dir, signaturePath: real, publicKey: P256.pub })).ok).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects a shard size that is not positive', async () => {
    const dir = makeModel();
    await expect(signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: path.join(tmp(), 'x.sig'), method: 'shards', shardSize: 0 })).rejects.toMatchObject({
      code: 'RAMPART_ERR_SIGN_OPTIONS_INVALID',
    });
  });
});

let otherCaPem: Buffer | undefined;
function otherCa(): Buffer {
  if (otherCaPem) return otherCaPem;
  const d = tmp();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=root-ca', '-days', '30', '-keyout', 'k.pem', '-out', 'c.pem'], {
    cwd: d,
    stdio: 'ignore',
  });
  otherCaPem = readFileSync(path.join(d, 'c.pem'));
  return otherCaPem;
}

describe('assertModelVerified', () => {
  it('returns the success and throws the failure code', async () => {
    const { assertModelVerified } = await import('./index.js');
    const dir = makeModel();
    const sig = path.join(tmp(), 'a.sig');
    await signModel({ modelPath: dir, privateKeyPem: P256.priv, signaturePath: sig });
    await expect(assertModelVerified({ modelPath: dir, signaturePath: sig, publicKey: P256.pub })).resolves.toMatchObject({ ok: true });
    writeFileSync(path.join(dir, 'config.json'), 'tampered');
    await expect(assertModelVerified({ modelPath: dir, signaturePath: sig, publicKey: P256.pub })).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_FILE_MISMATCH' });
  });
});

describe('encrypted private keys', () => {
  it('sign with the passphrase; refuse without it or with a wrong one', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const enc = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }) as string);
    const dir = makeModel();
    const sig = path.join(tmp(), 'e.sig');
    await expect(signModel({ modelPath: dir, privateKeyPem: enc, signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_KEY_INVALID' });
    await expect(signModel({ modelPath: dir, privateKeyPem: enc, passphrase: 'wrong', signaturePath: sig })).rejects.toMatchObject({ code: 'RAMPART_ERR_SIGN_KEY_INVALID' });
    await signModel({ modelPath: dir, privateKeyPem: enc, passphrase: 'correct horse', signaturePath: sig });
    const pub = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(await verifyModel({ modelPath: dir, signaturePath: sig, publicKey: pub })).toMatchObject({ ok: true });
  });
});
