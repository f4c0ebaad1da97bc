// Key provider `local`: KEKs from a passphrase-protected keyring file (see ../keyring.ts).
// Key reference = KEK name; key version = the keyring's version number as a decimal string.
// A wrapped data key is nonce(12) || AES-256-GCM(KEK, data key)(32) || tag(16), with the KEK
// name, version and wrap context as associated data, so a blob cannot be moved between keys.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoKeyNotFoundError, CryptoKeyringMissingError, CryptoWrongKeyError } from '../errors.js';
import { Keyring, listKeyring } from '../keyring.js';
import { canonicalContext } from './context.js';
import type { DataKey, KeyDescription, KeyProvider, ProviderFactory, ProviderOptions, WrapContext, WrappedKey } from './types.js';

export const LOCAL_PROVIDER_ID = 'local';
/** nonce(12) || AES-256-GCM ciphertext of the 32-byte data key || tag(16). */
const WRAPPED_LENGTH = 12 + 32 + 16;

function wrapAad(name: string, version: number, context: WrapContext): Buffer {
  return Buffer.concat([Buffer.from(`rampart-local-wrap-v1\0${name}\0${version}\0`, 'utf8'), canonicalContext(context)]);
}

export class LocalKeyringProvider implements KeyProvider {
  readonly id = LOCAL_PROVIDER_ID;
  private keyring: Promise<Keyring> | null = null;

  constructor(private readonly options: ProviderOptions) {}

  private path(): string | undefined {
    const env = this.options.env ?? process.env;
    return this.options.keyringPath ?? env.RAMPART_KEYRING;
  }

  private open(): Promise<Keyring> {
    if (!this.keyring) {
      const env = this.options.env ?? process.env;
      const path = this.path();
      if (!path) return Promise.reject(new CryptoKeyringMissingError());
      const pass = this.options.passphrase ?? env.RAMPART_KEYRING_PASSPHRASE ?? '';
      this.keyring = Keyring.open(path, pass);
      // A failed open (wrong passphrase) must not stick: the next call may try again.
      this.keyring.catch(() => {
        this.keyring = null;
      });
    }
    return this.keyring;
  }

  async generateDataKey(keyRef: string, context: WrapContext): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const { wrapped, keyVersion } = await this.wrap(plaintext, keyRef, context);
    return { plaintext, wrapped, keyVersion };
  }

  /**
   * From the keyring file's metadata, before its MAC is checked (that needs the passphrase): the
   * newest version of `keyRef`. wrap() then reads and authenticates the file itself.
   */
  async peekWrap(keyRef: string): Promise<{ keyVersion: string; wrappedLength: number } | null> {
    const path = this.path();
    if (!path) return null;
    const kek = (await listKeyring(path).catch(() => [])).find((k) => k.name === keyRef);
    return kek ? { keyVersion: String(kek.currentVersion), wrappedLength: WRAPPED_LENGTH } : null;
  }

  async wrap(plaintext: Buffer, keyRef: string, context: WrapContext): Promise<WrappedKey> {
    const kr = await this.open();
    const { version, key } = kr.material(keyRef);
    try {
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(wrapAad(keyRef, version, context));
      const wrapped = Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
      return { wrapped, keyVersion: String(version) };
    } finally {
      key.fill(0);
    }
  }

  async unwrap(wrapped: Buffer, keyRef: string, keyVersion: string, context: WrapContext): Promise<Buffer> {
    if (!/^[1-9][0-9]{0,8}$/.test(keyVersion)) throw new CryptoKeyNotFoundError(`KEK "${keyRef}" has no version "${keyVersion}"`);
    const version = Number(keyVersion);
    const kr = await this.open();
    const { key } = kr.material(keyRef, version);
    try {
      if (wrapped.length !== WRAPPED_LENGTH) throw new CryptoWrongKeyError(`the data key could not be unwrapped with KEK "${keyRef}" v${version}`);
      const d = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, 12));
      d.setAAD(wrapAad(keyRef, version, context));
      d.setAuthTag(wrapped.subarray(44));
      try {
        return Buffer.concat([d.update(wrapped.subarray(12, 44)), d.final()]);
      } catch {
        throw new CryptoWrongKeyError(`the data key could not be unwrapped with KEK "${keyRef}" v${version}`, { details: { keyRef, keyVersion } });
      }
    } finally {
      key.fill(0);
    }
  }

  async describe(keyRef: string): Promise<KeyDescription> {
    const kr = await this.open();
    const k = kr.list().find((x) => x.name === keyRef);
    if (!k) throw new CryptoKeyNotFoundError(`no KEK named "${keyRef}" in the keyring`);
    return {
      provider: this.id,
      keyRef,
      currentVersion: String(k.currentVersion),
      versions: k.versions.map((v) => ({ version: String(v.version), created: v.created, retired: v.retired })),
    };
  }

  async close(): Promise<void> {
    const kr = this.keyring;
    this.keyring = null;
    if (kr) (await kr.catch(() => null))?.close();
  }
}

export const localKeyringProviderFactory: ProviderFactory = {
  id: LOCAL_PROVIDER_ID,
  description: 'KEKs in a passphrase-protected keyring file (--keyring FILE or RAMPART_KEYRING)',
  create: (options) => new LocalKeyringProvider(options),
};
