// Encryption at rest in the demo: the digits classifier's weights are sealed with Rampart's
// envelope format under a KEK in a local keyring, and the model server loads them by decrypting
// in memory (plaintext weights never touch the disk). Files are written through
// core/replace-file.ts: the passphrase (a secret) only ever to a regular file, mode 0600.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileReplacing } from '../core/replace-file.js';
import { decryptFileToBuffer, encryptIterable, Keyring, ProviderSet } from '../crypto/index.js';
import { deserializeModel, serializeModel, type DenseModel } from './classifier/model.js';

/** KEK name in the demo keyring and the artifact id bound to the weights file. */
export const DEMO_KEK = 'demo-models';

export interface SealedWeights {
  /** The encrypted weights. */
  file: string;
  keyringPath: string;
  /** File holding the keyring passphrase (0600), so a user can try `rampart decrypt` on the weights. */
  passphraseFile: string;
  /** PROVIDER:KEK reference, e.g. `local:demo-models`. */
  keyRef: string;
  artifactId: string;
}

/**
 * Creates a keyring with one KEK in `dir/keys` and writes `model` encrypted to `dir/models`.
 * Returns where everything is, and a ProviderSet (keyring already unlocked) for loading.
 */
export async function sealWeights(dir: string, model: DenseModel, artifactId: string): Promise<{ sealed: SealedWeights; providers: ProviderSet }> {
  const keysDir = join(dir, 'keys');
  const modelsDir = join(dir, 'models');
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  mkdirSync(modelsDir, { recursive: true });
  const keyringPath = join(keysDir, 'keyring.json');
  const passphraseFile = join(keysDir, 'passphrase');
  // A random 192-bit passphrase: the KDF's memory-hardness protects human passphrases, so a
  // lighter setting than the default keeps the demo's start-up quick without weakening this one.
  const passphrase = randomBytes(24).toString('base64url');
  writeFileReplacing(passphraseFile, `${passphrase}\n`, { mode: 0o600, regularOnly: true });
  const keyring = await Keyring.create(keyringPath, passphrase, { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
  await keyring.createKek(DEMO_KEK);
  const providers = new ProviderSet({ keyringPath, passphrase });
  const keyRef = `local:${DEMO_KEK}`;
  const file = join(modelsDir, `${artifactId}.weights.json.enc`);
  try {
    const chunks: Buffer[] = [];
    for await (const c of encryptIterable([Buffer.from(serializeModel(model), 'utf8')], { key: keyRef, artifactId, providers })) chunks.push(c);
    writeFileReplacing(file, Buffer.concat(chunks));
  } catch (e) {
    await providers.close();
    throw e;
  }
  return { sealed: { file, keyringPath, passphraseFile, keyRef, artifactId }, providers };
}

/** Decrypts and parses sealed weights; a tampered file or wrong key throws a coded crypto error. */
export async function loadSealedWeights(sealed: SealedWeights, providers: ProviderSet): Promise<DenseModel> {
  const bytes = await decryptFileToBuffer(sealed.file, { providers, artifactId: sealed.artifactId });
  try {
    return deserializeModel(bytes.toString('utf8'));
  } finally {
    bytes.fill(0);
  }
}
