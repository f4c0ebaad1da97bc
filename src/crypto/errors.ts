// Coded errors of encryption at rest: the envelope format, the key providers and the keyring.
// Messages never contain key material, passphrases or plaintext; only names, versions and sizes.
import { defineError } from '../core/errors.js';

export const CryptoNotEncryptedError = defineError('RAMPART_ERR_CRYPTO_NOT_ENCRYPTED', 'the input is not a Rampart encrypted file (bad magic bytes)');
export const CryptoUnsupportedVersionError = defineError('RAMPART_ERR_CRYPTO_UNSUPPORTED_VERSION', 'the encrypted file uses an unknown format version or cipher suite');
export const CryptoHeaderInvalidError = defineError('RAMPART_ERR_CRYPTO_HEADER_INVALID', 'the header of the encrypted file is malformed');
export const CryptoHeaderTamperedError = defineError('RAMPART_ERR_CRYPTO_HEADER_TAMPERED', 'the header of the encrypted file was modified (key commitment or header MAC mismatch)');
export const CryptoCorruptedError = defineError('RAMPART_ERR_CRYPTO_CORRUPTED', 'a segment failed authentication: corrupted, reordered or taken from another file');
export const CryptoTruncatedError = defineError('RAMPART_ERR_CRYPTO_TRUNCATED', 'the encrypted file ends early (truncated)');
export const CryptoTrailingDataError = defineError('RAMPART_ERR_CRYPTO_TRAILING_DATA', 'the encrypted file has data after its final segment');
export const CryptoWrongKeyError = defineError('RAMPART_ERR_CRYPTO_WRONG_KEY', 'the data key could not be unwrapped with this key (wrong key, or the wrapped key was altered)');
export const CryptoKeyNotFoundError = defineError('RAMPART_ERR_CRYPTO_KEY_NOT_FOUND', 'the key-encryption key or key version does not exist');
export const CryptoKeyRetiredError = defineError('RAMPART_ERR_CRYPTO_KEY_RETIRED', 'the key version is retired (or the KMS key is disabled) and may no longer unwrap data keys');
export const CryptoKeyExistsError = defineError('RAMPART_ERR_CRYPTO_KEY_EXISTS', 'a key-encryption key with this name already exists');
export const CryptoKeyRefInvalidError = defineError('RAMPART_ERR_CRYPTO_KEYREF_INVALID', 'the key reference is malformed (expected PROVIDER:KEY, e.g. local:my-kek)');
export const CryptoProviderUnknownError = defineError('RAMPART_ERR_CRYPTO_PROVIDER_UNKNOWN', 'no key provider is registered under this id');
export const CryptoProviderUnavailableError = defineError('RAMPART_ERR_CRYPTO_PROVIDER_UNAVAILABLE', 'the key provider could not be reached or refused the request');
export const CryptoWrongPassphraseError = defineError('RAMPART_ERR_CRYPTO_WRONG_PASSPHRASE', 'the keyring passphrase is wrong');
export const CryptoPassphraseRequiredError = defineError('RAMPART_ERR_CRYPTO_PASSPHRASE_REQUIRED', 'the keyring passphrase is needed: set RAMPART_KEYRING_PASSPHRASE or run on a terminal');
export const CryptoKeyringInvalidError = defineError('RAMPART_ERR_CRYPTO_KEYRING_INVALID', 'the keyring file is malformed');
export const CryptoKeyringTamperedError = defineError('RAMPART_ERR_CRYPTO_KEYRING_TAMPERED', 'the keyring file was modified outside Rampart (integrity check failed)');
export const CryptoKeyringMissingError = defineError('RAMPART_ERR_CRYPTO_KEYRING_MISSING', 'no keyring file: pass --keyring FILE or set RAMPART_KEYRING, or the file does not exist');
export const CryptoOutputExistsError = defineError('RAMPART_ERR_CRYPTO_OUTPUT_EXISTS', 'the output path already exists (pass --force to replace a file)');
export const CryptoAadMismatchError = defineError('RAMPART_ERR_CRYPTO_AAD_MISMATCH', 'the file was encrypted for a different artifact id than the one expected');
