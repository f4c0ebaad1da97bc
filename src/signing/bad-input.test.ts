// Bad input to verification and signing, one case per coded error: malformed and oversized
// bundles, unknown format versions, unreadable inputs, huge (sparse) files with hostile shard
// sizes, inconsistent statements behind a valid signature.
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, ftruncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.js';
import { signModel } from './sign.js';
import { verifyModel } from './verify.js';
import { tempDir } from './testing/vectors.js';

const t = tempDir('rampart-sigbad-');
afterAll(t.cleanup);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PRIV = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const PUB = Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string);
const isRoot = process.getuid?.() === 0;

const model = path.join(t.dir, 'model');
mkdirSync(model);
writeFileSync(path.join(model, 'w.bin'), 'weights');
const good = path.join(t.dir, 'good.sig');
let counter = 0;

function sigFile(content: string | Buffer): string {
  const f = path.join(t.dir, `case-${counter++}.sig`);
  writeFileSync(f, content);
  return f;
}

function sparse(file: string, size: number): void {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

async function bundle(): Promise<Record<string, unknown> & { dsseEnvelope: { payload: string } }> {
  await signModel({ modelPath: model, privateKeyPem: PRIV, signaturePath: good });
  return JSON.parse(readFileSync(good, 'utf8'));
}

/** Re-signs an edited statement with the trusted key, so only the statement checks can refuse it. */
async function resigned(edit: (stmt: Stmt) => void): Promise<string> {
  const b = await bundle();
  const stmt = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
  edit(stmt);
  const payload = Buffer.from(JSON.stringify(stmt));
  const sig = cryptoSign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, payload), { key: privateKey, dsaEncoding: 'der' });
  return sigFile(JSON.stringify({ ...b, dsseEnvelope: { payload: payload.toString('base64'), payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [{ sig: sig.toString('base64'), keyid: '' }] } }));
}

// The statement as JSON, loosely typed: these tests edit arbitrary fields.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Stmt = Record<string, any>;

const verify = (signaturePath: string, modelPath = model) => verifyModel({ modelPath, signaturePath, publicKey: PUB });

describe('could not complete (thrown, exit 2)', () => {
  it.each([
    ['not JSON', '{"mediaType":', 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED'],
    ['a JSON array', '[]', 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED'],
    ['no envelope', JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { publicKey: { hint: 'x' } } }), 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED'],
    ['an older bundle version', JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' }), 'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT'],
    ['an unknown media type', JSON.stringify({ mediaType: 'text/plain' }), 'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT'],
  ])('%s', async (_l, text, code) => {
    await expect(verify(sigFile(text))).rejects.toMatchObject({ code });
  });

  it('a messageSignature bundle', async () => {
    const b = await bundle();
    const { dsseEnvelope: _d, ...rest } = b;
    await expect(verify(sigFile(JSON.stringify({ ...rest, messageSignature: { signature: 'AAAA' } })))).rejects.toMatchObject({
      code: 'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT',
    });
  });

  it('bad base64 and an empty signature list', async () => {
    const b = await bundle();
    await expect(verify(sigFile(JSON.stringify({ ...b, dsseEnvelope: { ...b.dsseEnvelope, payload: '@@@' } })))).rejects.toMatchObject({
      code: 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED',
    });
    await expect(verify(sigFile(JSON.stringify({ ...b, dsseEnvelope: { ...b.dsseEnvelope, signatures: [] } })))).rejects.toMatchObject({
      code: 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED',
    });
  });

  it('an oversized (sparse) bundle is refused before it is read', async () => {
    const f = path.join(t.dir, 'huge.sig');
    sparse(f, 65 * 1024 * 1024);
    await expect(verify(f)).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED' });
  });

  it('missing or unreadable bundle, missing model, unreadable model file', async () => {
    await expect(verify(path.join(t.dir, 'nope.sig'))).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED' });
    await bundle();
    await expect(verify(good, path.join(t.dir, 'no-model'))).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_MODEL_UNREADABLE' });
    if (!isRoot) {
      const unreadable = sigFile(readFileSync(good));
      chmodSync(unreadable, 0);
      await expect(verify(unreadable)).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED' });
      chmodSync(path.join(model, 'w.bin'), 0);
      try {
        await expect(verify(good)).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_MODEL_UNREADABLE' });
      } finally {
        chmodSync(path.join(model, 'w.bin'), 0o644);
      }
    }
  });

  it('signed but unknown predicate type, statement type, method or hash type', async () => {
    for (const edit of [
      (s: Stmt) => (s.predicateType = 'https://model_signing/signature/v2.0'),
      (s: Stmt) => (s._type = 'https://in-toto.io/Statement/v0.1'),
      (s: Stmt) => (s.predicate.serialization.method = 'tensors'),
      (s: Stmt) => (s.predicate.serialization.hash_type = 'blake2'),
    ]) {
      await expect(verify(await resigned(edit))).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT' });
    }
  });

  it('both or neither of key and CA', async () => {
    await expect(verifyModel({ modelPath: model, signaturePath: good })).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_USAGE' });
    await expect(verifyModel({ modelPath: model, signaturePath: good, publicKey: PUB, caPem: PUB })).rejects.toMatchObject({ code: 'RAMPART_ERR_VERIFY_USAGE' });
  });
});

describe('verification failed (result, exit 1)', () => {
  it('a subject digest that does not cover the resources', async () => {
    const f = await resigned((s) => (s.subject[0].digest.sha256 = '0'.repeat(64)));
    expect(await verify(f)).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_MANIFEST_INCONSISTENT' });
  });

  it('unsafe resource names and duplicates', async () => {
    const bad = await resigned((s) => (s.predicate.resources[0].name = '../w.bin'));
    expect(await verify(bad)).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_PAYLOAD_INVALID' });
  });

  it('a huge sparse file with a hostile shard size is refused without reading it', async () => {
    const big = path.join(t.dir, 'big-model');
    mkdirSync(big);
    sparse(path.join(big, 'huge.bin'), 5 * 1024 ** 3);
    const started = Date.now();
    await expect(signModel({ modelPath: big, privateKeyPem: PRIV, signaturePath: path.join(t.dir, 'big.sig'), method: 'shards', shardSize: 1 })).rejects.toMatchObject({
      code: 'RAMPART_ERR_SIGN_OPTIONS_INVALID',
    });
    const f = await resigned((s) => {
      s.predicate.serialization = { method: 'shards', hash_type: 'sha256', allow_symlinks: false, shard_size: 1 };
      s.predicate.resources = [{ name: 'huge.bin:0:1', algorithm: 'sha256', digest: 'a'.repeat(64) }];
      // A consistent subject digest, so only the shard-count limit can refuse it.
      s.subject[0].digest.sha256 = createHash('sha256').update(Buffer.from('a'.repeat(64), 'hex')).digest('hex');
    });
    expect(await verify(f, big)).toMatchObject({ ok: false, code: 'RAMPART_ERR_VERIFY_PAYLOAD_INVALID' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
