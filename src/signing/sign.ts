// `rampart sign`: hashes a model (a file or a directory) and writes an OpenSSF model-signing v1.0
// bundle: a Sigstore bundle v0.3 whose DSSE envelope signs an in-toto statement listing every
// file's (or shard's) SHA-256. Key mode records the public key hint; certificate mode embeds the
// leaf certificate and its chain. The bundle is written to a temporary name and renamed (a device
// or FIFO is written directly, a symbolic link followed).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import { withFileReplacing } from '../core/replace-file.js';
import { silentLogger } from '../core/logger.js';
import { serializeBundle } from './bundle.js';
import { ChainError, parsePemCertificates } from './cert-chain.js';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.js';
import {
  SignCertInvalidError,
  SignKeyInvalidError,
  SignModelInvalidError,
  SignOptionsInvalidError,
  SignReadFailedError,
  SignWriteFailedError,
} from './errors.js';
import { HashReadError, type HashOptions } from './hash-pool.js';
import { recordableIgnores, resolveIgnores } from './ignore-paths.js';
import { KeyFormatError, loadPrivateKey, publicKeyHint, sameKey, signDer } from './keys.js';
import { buildManifest, DEFAULT_SHARD_SIZE, type Manifest, type Serialization } from './manifest.js';
import { ModelPathError, modelName, walkModel } from './model-paths.js';
import { buildStatement } from './statement.js';

export interface SignOptions {
  modelPath: string;
  /** PEM private key (P-256, P-384 or P-521). */
  privateKeyPem: Buffer;
  passphrase?: string;
  /** PEM certificates: the signing certificate (matched to the key) and its intermediates. */
  certChainPem?: Buffer;
  /** Where to write the bundle; default `model.sig` in the working directory, like the reference. */
  signaturePath?: string;
  ignorePaths?: readonly string[];
  ignoreGitPaths?: boolean;
  allowSymlinks?: boolean;
  method?: 'files' | 'shards';
  shardSize?: number;
  hash?: HashOptions;
  logger?: Logger;
}

export interface SignResult {
  signaturePath: string;
  manifest: Manifest;
  mode: 'key' | 'certificate';
  bytesHashed: number;
}

export const DEFAULT_SIGNATURE_NAME = 'model.sig';

/**
 * Signs a model directory or file.
 *
 * @example
 * await signModel({ modelPath: 'models/bert', privateKeyPem: readFileSync('key.pem'), signaturePath: 'models/bert/model.sig' });
 */
export async function signModel(opts: SignOptions): Promise<SignResult> {
  const log = opts.logger ?? silentLogger();
  const method = opts.method ?? 'files';
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  if (method === 'shards' && (!Number.isSafeInteger(shardSize) || shardSize < 1)) {
    throw new SignOptionsInvalidError('shard size must be a positive integer number of bytes');
  }
  let key;
  try {
    key = loadPrivateKey(opts.privateKeyPem, opts.passphrase);
  } catch (err) {
    throw new SignKeyInvalidError(`signing key: ${err instanceof KeyFormatError ? err.message : 'unreadable'}`);
  }
  let chain: Buffer[] | undefined;
  if (opts.certChainPem) {
    let certs;
    try {
      certs = parsePemCertificates(opts.certChainPem.toString('utf8'));
    } catch (err) {
      throw new SignCertInvalidError(`certificate chain: ${err instanceof ChainError ? err.message : 'unreadable'}`);
    }
    const leafIdx = certs.findIndex((c) => c.publicKey.asymmetricKeyType === 'ec' && sameKey(c.publicKey, key));
    if (leafIdx < 0) throw new SignCertInvalidError('no certificate in the chain file holds the public key of the signing key');
    const leaf = certs[leafIdx]!;
    chain = [leaf.raw, ...certs.filter((_, i) => i !== leafIdx).map((c) => c.raw)];
  }

  const root = path.resolve(opts.modelPath);
  const signaturePath = path.resolve(opts.signaturePath ?? DEFAULT_SIGNATURE_NAME);
  const allowSymlinks = opts.allowSymlinks ?? false;
  const ignoreAbs = resolveIgnores({ root, user: opts.ignorePaths, gitPaths: opts.ignoreGitPaths ?? true, signaturePath });

  let walked;
  try {
    walked = await walkModel(root, { ignore: ignoreAbs, allowSymlinks });
  } catch (err) {
    if (err instanceof ModelPathError) throw new SignModelInvalidError(err.message);
    throw err;
  }
  if (walked.files.length === 0) throw new SignModelInvalidError('the model holds no regular files after applying exclusions');
  const colon = method === 'shards' ? walked.files.find((f) => f.name.includes(':')) : undefined;
  // Shard names are "path:start:end"; the format cannot express a path holding ':'.
  if (colon) throw new SignModelInvalidError(`${colon.name} holds ':', which shard names cannot express; sign by files instead`);
  const recorded = walked.isFile ? undefined : recordableIgnores(root, ignoreAbs);
  const serialization: Serialization =
    method === 'files'
      ? { method, hashType: 'sha256', allowSymlinks, ...(recorded ? { ignorePaths: recorded } : {}) }
      : { method, hashType: 'sha256', allowSymlinks, shardSize, ...(recorded ? { ignorePaths: recorded } : {}) };

  let manifest: Manifest;
  try {
    manifest = await buildManifest(modelName(root), walked.files, serialization, opts.hash);
  } catch (err) {
    if (err instanceof HashReadError) throw new SignReadFailedError(err.message);
    if (err instanceof RangeError) throw new SignOptionsInvalidError('the shard size is too small for this model (too many shards)');
    throw err;
  }

  const payload = Buffer.from(JSON.stringify(buildStatement(manifest), null, 2), 'utf8');
  const sig = signDer(key, pae(IN_TOTO_PAYLOAD_TYPE, payload));
  const bundle = serializeBundle(chain ? { kind: 'chain', certificates: chain } : { kind: 'publicKey', hint: publicKeyHint(key) }, {
    payload,
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    signatures: [{ sig, keyid: '' }],
  });

  await writeAtomically(signaturePath, bundle);
  const bytesHashed = walked.files.reduce((n, f) => n + f.size, 0);
  log.info({ model: root, signature: signaturePath, items: manifest.items.length, bytes: bytesHashed, mode: chain ? 'certificate' : 'key' }, 'model signed');
  return { signaturePath, manifest, mode: chain ? 'certificate' : 'key', bytesHashed };
}

/**
 * Writes the bundle whole or not at all (temporary file beside it, then rename). A device or FIFO
 * (`-o /dev/stdout`) is written directly and a symbolic link followed (core/replace-file.ts).
 */
async function writeAtomically(target: string, content: string): Promise<void> {
  try {
    await withFileReplacing(target, {}, async ({ fh }) => {
      await fh.writeFile(content, 'utf8');
    });
  } catch (err) {
    throw new SignWriteFailedError(`cannot write ${target} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}

/** Reads a key or certificate file for the CLI, mapping errors to a coded one. */
export async function readInputFile(file: string, onError: (msg: string) => Error): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (!st.isFile() || st.size > 1024 * 1024) throw new Error('not a regular file under 1 MiB');
    return await readFile(file);
  } catch (err) {
    throw onError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
