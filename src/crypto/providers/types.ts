// The KeyProvider interface: everything envelope encryption needs from a key-management system.
// A provider wraps and unwraps 32-byte data keys under a key-encryption key (KEK) it names by a
// key reference; it never sees file contents. Implementations live one per file in this folder
// and are listed in ./registry.ts.
import type { Logger } from '../../core/logger.js';

/** A freshly generated data key: its plaintext (for this process only) and its wrapped form. */
export interface DataKey {
  plaintext: Buffer;
  wrapped: Buffer;
  /** The KEK version that wrapped it, as the provider names versions (stored in the file header). */
  keyVersion: string;
}

export interface WrappedKey {
  wrapped: Buffer;
  keyVersion: string;
}

/**
 * Non-secret pairs bound to the wrapped key (AAD for the local keyring, EncryptionContext for KMS).
 * Unwrap must pass the same context or it fails.
 */
export type WrapContext = Readonly<Record<string, string>>;

export interface KeyVersionInfo {
  version: string;
  created?: string;
  retired?: string | null;
}

export interface KeyDescription {
  provider: string;
  keyRef: string;
  /** The version new wraps use. */
  currentVersion: string;
  versions: KeyVersionInfo[];
}

export interface KeyProvider {
  readonly id: string;
  /** A fresh random 32-byte data key wrapped under the newest version of `keyRef`. */
  generateDataKey(keyRef: string, context: WrapContext): Promise<DataKey>;
  /** Recovers a data key; throws CryptoWrongKeyError, CryptoKeyNotFoundError or CryptoKeyRetiredError. */
  unwrap(wrapped: Buffer, keyRef: string, keyVersion: string, context: WrapContext): Promise<Buffer>;
  /** Wraps an existing data key under the newest version of `keyRef` (used by rewrap). */
  wrap(plaintext: Buffer, keyRef: string, context: WrapContext): Promise<WrappedKey>;
  /**
   * Optional: the key version and wrapped-key length that wrap() would give for `keyRef` now, found
   * without unlocking anything; null when the provider cannot tell. Encryption uses it to seal the
   * payload at its final offset while the key is still being unlocked (the local keyring's scrypt
   * runs meanwhile). A wrong answer costs time, never correctness: wrap()'s result is checked.
   */
  peekWrap?(keyRef: string): Promise<{ keyVersion: string; wrappedLength: number } | null>;
  /** Names and versions of a key; never key material. */
  describe(keyRef: string): Promise<KeyDescription>;
  /** Releases clients and zeroes cached secrets. */
  close?(): Promise<void>;
}

/** Options every provider factory may draw on; each provider reads only what it needs. */
export interface ProviderOptions {
  logger?: Logger;
  /** Local keyring file (`--keyring` or RAMPART_KEYRING). */
  keyringPath?: string;
  /** Keyring passphrase, or a function that asks for it (called at most once). */
  passphrase?: string | (() => Promise<string>);
  /** AWS KMS endpoint override (`--kms-endpoint`), e.g. a local KMS-compatible server. */
  kmsEndpoint?: string;
  /** AWS region; defaults to AWS_REGION / AWS_DEFAULT_REGION. */
  awsRegion?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ProviderFactory {
  readonly id: string;
  readonly description: string;
  create(options: ProviderOptions): KeyProvider;
}
