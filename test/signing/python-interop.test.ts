// Interoperability check with an independent implementation: a Python script using the
// `cryptography` package (which the reference model_signing also uses) re-checks a Rampart
// bundle the way the reference verifier does — key hint from public_bytes(PEM, SPKI), ECDSA with
// the curve's hash over the DSSE PAE, subject digest over the resources, file SHA-256s.
// Skipped when python3 with `cryptography` is not installed.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signModel } from '../../src/signing/sign.js';

const hasPython = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0;
const work = mkdtempSync(path.join(tmpdir(), 'rampart-pyinterop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CHECK = `
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
def check(model, sig_path, pub_path):
  bundle = json.load(open(sig_path))
  assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
  pub = serialization.load_pem_public_key(open(pub_path, "rb").read())
  pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
  assert bundle["verificationMaterial"]["publicKey"]["hint"] == hashlib.sha256(pem).hexdigest(), "hint"
  env = bundle["dsseEnvelope"]
  payload = base64.b64decode(env["payload"])
  ptype = "application/vnd.in-toto+json"
  assert env["payloadType"] == ptype
  pae = b" ".join([f"DSSEv1 {len(ptype)} {ptype} {len(payload)}".encode(), payload])
  h = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[pub.curve.key_size]
  pub.verify(base64.b64decode(env["signatures"][0]["sig"]), pae, ec.ECDSA(h))
  stmt = json.loads(payload)
  assert stmt["_type"] == "https://in-toto.io/Statement/v1"
  assert stmt["predicateType"] == "https://model_signing/signature/v1.0"
  root = hashlib.sha256()
  names = []
  for r in stmt["predicate"]["resources"]:
      root.update(bytes.fromhex(r["digest"]))
      names.append(r["name"])
      assert r["algorithm"] == "sha256"
      assert hashlib.sha256(open(os.path.join(model, r["name"]), "rb").read()).hexdigest() == r["digest"], r["name"]
  assert stmt["subject"][0]["digest"]["sha256"] == root.hexdigest(), "root digest"
  import pathlib
  assert names == [str(p) for p in sorted(pathlib.PurePosixPath(n) for n in names)], "order"
  print("ok", len(names))
args = sys.argv[1:]
for i in range(0, len(args), 3):
  check(*args[i:i + 3])
`;

describe.skipIf(!hasPython)('python cryptography cross-check', () => {
  it('P-256, P-384 and P-521 bundles verify the reference way', async () => {
    const args: string[] = [];
    for (const curve of ['prime256v1', 'secp384r1', 'secp521r1'] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const model = path.join(work, `model-${curve}`);
      mkdirSync(path.join(model, 'a'), { recursive: true });
      writeFileSync(path.join(model, 'a', 'x.bin'), 'x');
      writeFileSync(path.join(model, 'a.bin'), 'y');
      writeFileSync(path.join(model, 'b c.json'), '{}');
      const sig = path.join(work, `${curve}.sig`);
      const pub = path.join(work, `${curve}.pub`);
      writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
      await signModel({ modelPath: model, privateKeyPem: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), signaturePath: sig });
      args.push(model, sig, pub);
    }
    const r = spawnSync('python3', ['-c', CHECK, ...args], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['ok 3', 'ok 3', 'ok 3']);
  });
});
