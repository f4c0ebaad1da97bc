// `rampart verify`: checks a model against an OpenSSF model-signing bundle. First the signature
// (key mode: the given public key, after checking the bundle's key hint; certificate mode: the
// bundle's chain up to the given CA, then the leaf's key), then the signed statement, then every
// file on disk: the model passes only when every signed item matches and nothing is missing or
// extra. Could-not-complete conditions throw coded errors (exit 2); failed checks are returned
// as { ok: false, code, reason } (exit 1).
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { MAX_BUNDLE_BYTES, parseBundle, type ParsedBundle } from './bundle.js';
import { ChainError, parsePemCertificates, verifyChain } from './cert-chain.js';
import { pae, paeCompatV02, IN_TOTO_PAYLOAD_TYPE } from './dsse.js';
import {
  VerifyBundleMalformedError,
  VerifyCaInvalidError,
  VerifyChainInvalidError,
  VerifyFileExtraError,
  VerifyFileMismatchError,
  VerifyFileMissingError,
  VerifyKeyInvalidError,
  VerifyKeylessUnsupportedError,
  VerifyKeyMismatchError,
  VerifyModelUnreadableError,
  VerifyPayloadInvalidError,
  VerifySignatureInvalidError,
  VerifySymlinkError,
  VerifyUsageError,
} from './errors.js';
import { HashReadError, type HashOptions } from './hash-pool.js';
import { resolveIgnores } from './ignore-paths.js';
import { KeyFormatError, loadPublicKey, publicKeyHint, verifyDer } from './keys.js';
import { buildManifest, firstDifference, type Manifest } from './manifest.js';
import { ModelPathError, modelName, walkModel } from './model-paths.js';
import { parseStatement, PREDICATE_TYPE_V01 } from './statement.js';
import { isRampartError, type RampartError } from '../core/errors.js';

export interface VerifyOptions {
  modelPath: string;
  signaturePath: string;
  /** PEM or DER public key (key mode). Exactly one of publicKey / caPem. */
  publicKey?: Buffer;
  /** PEM CA certificate(s) the bundle's chain must lead to (certificate mode). */
  caPem?: Buffer;
  ignorePaths?: readonly string[];
  ignoreGitPaths?: boolean;
  hash?: HashOptions;
  logger?: Logger;
}

export interface VerifySuccess {
  ok: true;
  mode: 'key' | 'certificate';
  /** "v1.0" (https://model_signing/signature/v1.0) or "v0.1" (the v0.2 Digests/v0.1 statement). */
  statementVersion: 'v1.0' | 'v0.1';
  method: 'files' | 'shards';
  items: number;
  modelName: string;
  /** Certificate mode: subject CNs from leaf to the trusted CA. */
  certificatePath?: string[];
  /** True when the signature only verified with the v0.2 PAE encoding. */
  legacyPae: boolean;
}

export interface VerifyFailure {
  ok: false;
  code: string;
  reason: string;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

function fail(err: RampartError): VerifyFailure {
  return { ok: false, code: err.code, reason: err.message };
}

async function readBundle(file: string): Promise<ParsedBundle> {
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new VerifyBundleMalformedError(`${file} is not a regular file`);
    if (st.size > MAX_BUNDLE_BYTES) throw new VerifyBundleMalformedError(`${file} is larger than ${MAX_BUNDLE_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isRampartError(err)) throw err;
    throw new VerifyBundleMalformedError(`cannot read signature ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseBundle(text);
}

function keylessError(b: ParsedBundle): RampartError {
  let who = 'an unknown identity';
  if (b.material.kind === 'certificate') {
    try {
      const c = new X509Certificate(b.material.certificate);
      who = (c.subjectAltName ?? c.subject).slice(0, 200);
    } catch {
      who = 'an unparsable certificate';
    }
  }
  const m = b.material.kind === 'certificate' ? b.material : undefined;
  return new VerifyKeylessUnsupportedError(
    `keyless Sigstore bundle (Fulcio certificate for ${who}, ${m?.tlogEntries ?? 0} transparency log entries, ${m?.timestamps ?? 0} timestamps): verifying it needs the Sigstore public trust root, which is not available offline`,
  );
}

/**
 * Verifies a model against a bundle.
 *
 * @example
 * const r = await verifyModel({ modelPath: 'm', signaturePath: 'm/model.sig', publicKey: readFileSync('pub.pem') });
 * if (!r.ok) console.log(r.code, r.reason);
 */
export async function verifyModel(opts: VerifyOptions): Promise<VerifyResult> {
  const log = opts.logger ?? silentLogger();
  if ((opts.publicKey === undefined) === (opts.caPem === undefined)) {
    throw new VerifyUsageError('give exactly one of a public key or a CA certificate');
  }
  // Trust material first: a bad key file is reported even if the bundle is also bad.
  let publicKey;
  let anchors: X509Certificate[] | undefined;
  if (opts.publicKey) {
    try {
      publicKey = loadPublicKey(opts.publicKey);
    } catch (err) {
      throw new VerifyKeyInvalidError(`public key: ${err instanceof KeyFormatError ? err.message : 'unreadable'}`);
    }
  } else {
    try {
      anchors = parsePemCertificates(opts.caPem!.toString('utf8'));
    } catch (err) {
      throw new VerifyCaInvalidError(`CA certificates: ${err instanceof ChainError ? err.message : 'unreadable'}`);
    }
  }

  const bundle = await readBundle(opts.signaturePath);
  if (bundle.material.kind === 'certificate') throw keylessError(bundle);

  let certificatePath: string[] | undefined;
  if (publicKey) {
    if (bundle.material.kind === 'publicKey' && bundle.material.hint !== undefined && bundle.material.hint !== publicKeyHint(publicKey)) {
      return fail(new VerifyKeyMismatchError('the bundle was signed with another public key (key hint differs)'));
    }
  } else {
    if (bundle.material.kind !== 'chain') {
      return fail(new VerifyChainInvalidError('the bundle holds no certificate chain (it was signed in key mode; verify with --key)'));
    }
    try {
      const r = verifyChain(bundle.material.certificates, anchors!);
      publicKey = r.publicKey;
      certificatePath = r.path;
    } catch (err) {
      if (err instanceof ChainError) return fail(new VerifyChainInvalidError(`certificate chain: ${err.message}`));
      throw err;
    }
  }

  const env = bundle.envelope;
  const first = env.signatures[0]!;
  let legacyPae = false;
  if (!verifyDer(publicKey, pae(env.payloadType, env.payload), first.sig)) {
    // Reference v0.2 signed the buggy PAE, and with SHA-256 whatever the curve; its successors
    // still accept such bundles, so we do, as a fallback only.
    const legacy = paeCompatV02(env.payloadType, env.payload);
    if (verifyDer(publicKey, legacy, first.sig) || verifyDer(publicKey, legacy, first.sig, 'sha256')) legacyPae = true;
    else return fail(new VerifySignatureInvalidError('the signature does not verify with the given key'));
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return fail(new VerifyPayloadInvalidError(`payload type ${JSON.stringify(env.payloadType.slice(0, 80))} is not ${IN_TOTO_PAYLOAD_TYPE}`));
  }

  let expected: Manifest;
  let predicateType: string;
  try {
    ({ manifest: expected, predicateType } = parseStatement(env.payload));
  } catch (err) {
    // Unsupported formats could not be checked (exit 2); malformed or inconsistent statements failed.
    if (isRampartError(err) && err.code !== 'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT') return fail(err);
    throw err;
  }
  if (expected.items.length === 0) return fail(new VerifyPayloadInvalidError('the signature lists no files'));

  const root = path.resolve(opts.modelPath);
  const ignore = resolveIgnores({
    root,
    user: opts.ignorePaths,
    recorded: expected.serialization.ignorePaths,
    gitPaths: opts.ignoreGitPaths ?? true,
    signaturePath: opts.signaturePath,
  });
  let actual: Manifest;
  try {
    const walked = await walkModel(root, { ignore, allowSymlinks: expected.serialization.allowSymlinks });
    actual = await buildManifest(modelName(root), walked.files, expected.serialization, opts.hash);
  } catch (err) {
    if (err instanceof ModelPathError) {
      if (err.problem === 'symlink') return fail(new VerifySymlinkError(err.message));
      if (err.problem === 'special') return fail(new VerifyFileExtraError(err.message));
      throw new VerifyModelUnreadableError(err.message);
    }
    if (err instanceof HashReadError) throw new VerifyModelUnreadableError(err.message);
    if (err instanceof RangeError) return fail(new VerifyPayloadInvalidError('the shard size in the signature is too small for this model'));
    throw err;
  }

  const diff = firstDifference(expected, actual);
  if (diff) {
    const single = expected.items.every((i) => i.path === '.');
    const hint = single && diff.path === '.' ? ' (the signature is for a single-file model: pass the file, not its directory)' : '';
    if (diff.kind === 'mismatch') return fail(new VerifyFileMismatchError(`${diff.path} does not match its signed digest`));
    if (diff.kind === 'missing') return fail(new VerifyFileMissingError(`${diff.path} is signed but missing from the model${hint}`));
    return fail(new VerifyFileExtraError(`${diff.path} is in the model but not in the signature (use --ignore-paths to skip it)`));
  }
  const result: VerifySuccess = {
    ok: true,
    mode: opts.publicKey ? 'key' : 'certificate',
    statementVersion: predicateType === PREDICATE_TYPE_V01 ? 'v0.1' : 'v1.0',
    method: expected.serialization.method,
    items: expected.items.length,
    modelName: expected.modelName,
    ...(certificatePath ? { certificatePath } : {}),
    legacyPae,
  };
  log.info({ model: root, items: result.items, mode: result.mode }, 'model verified');
  return result;
}
