// Coded errors of model signing and verification (src/signing). SIGN_* errors stop `rampart sign`;
// VERIFY_* errors either stop `rampart verify` before a verdict (exit 2) or name the reason a
// verification failed (exit 1) — docs/signing.md lists which is which.
import { defineError } from '../core/errors.js';

// --- signing: the command could not complete ---
export const SignKeyInvalidError = defineError(
  'RAMPART_ERR_SIGN_KEY_INVALID',
  'the signing key is unreadable or not an ECDSA P-256/P-384/P-521 private key',
);
export const SignCertInvalidError = defineError(
  'RAMPART_ERR_SIGN_CERT_INVALID',
  'the signing certificate chain is unreadable or does not match the signing key',
);
export const SignModelInvalidError = defineError(
  'RAMPART_ERR_SIGN_MODEL_INVALID',
  'the model path is missing, empty after exclusions, or holds a symlink or special file that is not allowed',
);
export const SignReadFailedError = defineError('RAMPART_ERR_SIGN_READ_FAILED', 'a model file could not be read while hashing');
export const SignWriteFailedError = defineError('RAMPART_ERR_SIGN_WRITE_FAILED', 'the signature bundle could not be written');
export const SignOptionsInvalidError = defineError('RAMPART_ERR_SIGN_OPTIONS_INVALID', 'invalid signing options (shard size, hash type)');

// --- verification: could not complete (exit 2) ---
export const VerifyBundleMalformedError = defineError(
  'RAMPART_ERR_VERIFY_BUNDLE_MALFORMED',
  'the signature bundle is unreadable, too large, not JSON, or misses required fields',
);
export const VerifyUnsupportedFormatError = defineError(
  'RAMPART_ERR_VERIFY_UNSUPPORTED_FORMAT',
  'the bundle uses a media type, predicate type, serialization method or hash algorithm this version does not know',
);
export const VerifyKeylessUnsupportedError = defineError(
  'RAMPART_ERR_VERIFY_KEYLESS_UNSUPPORTED',
  'the bundle is a keyless Sigstore signature; verifying it needs the Sigstore public trust root, which is not available offline',
);
export const VerifyKeyInvalidError = defineError(
  'RAMPART_ERR_VERIFY_KEY_INVALID',
  'the public key file is unreadable or not an ECDSA P-256/P-384/P-521 public key',
);
export const VerifyCaInvalidError = defineError('RAMPART_ERR_VERIFY_CA_INVALID', 'the CA certificate file is unreadable or holds no certificate');
export const VerifyModelUnreadableError = defineError(
  'RAMPART_ERR_VERIFY_MODEL_UNREADABLE',
  'the model path is missing or a model file could not be read',
);

// --- verification failed (exit 1); carried in the result, thrown only by the library's assert helper ---
export const VerifySignatureInvalidError = defineError(
  'RAMPART_ERR_VERIFY_SIGNATURE_INVALID',
  'the DSSE signature does not verify with the given key or certificate',
);
export const VerifyKeyMismatchError = defineError(
  'RAMPART_ERR_VERIFY_KEY_MISMATCH',
  'the public key hint in the bundle does not match the given public key',
);
export const VerifyChainInvalidError = defineError(
  'RAMPART_ERR_VERIFY_CHAIN_INVALID',
  'the signing certificate does not chain to the given CA, was not valid at signing time, or may not sign',
);
export const VerifyPayloadInvalidError = defineError(
  'RAMPART_ERR_VERIFY_PAYLOAD_INVALID',
  'the signed payload is not a well-formed model-signing in-toto statement',
);
export const VerifyManifestInconsistentError = defineError(
  'RAMPART_ERR_VERIFY_MANIFEST_INCONSISTENT',
  'the statement subject digest does not match the digests of the listed resources',
);
export const VerifyFileMismatchError = defineError('RAMPART_ERR_VERIFY_FILE_MISMATCH', 'a model file (or shard) differs from its signed digest');
export const VerifyFileMissingError = defineError('RAMPART_ERR_VERIFY_FILE_MISSING', 'a signed file (or shard) is missing from the model');
export const VerifyFileExtraError = defineError('RAMPART_ERR_VERIFY_FILE_EXTRA', 'the model holds a file (or shard) that the signature does not list');
export const VerifySymlinkError = defineError(
  'RAMPART_ERR_VERIFY_SYMLINK',
  'the model holds a symlink but the signature was made with allow_symlinks false',
);
export const VerifyUsageError = defineError('RAMPART_ERR_VERIFY_USAGE', 'verify needs exactly one of --key or --cert-chain');
