// Public API of encryption at rest (see docs/encryption.md and docs/key-providers.md).
export { encryptIterable, decryptIterable, encryptStream, decryptStream, type EncryptOptions, type DecryptOptions, type ProviderChoice } from './envelope/envelope.js';
export { encryptFile, decryptFile, encryptPath, decryptPath, ENCRYPTED_SUFFIX, type FileResult, type TreeResult } from './envelope/file.js';
export { parseHeaderBytes, FORMAT_VERSION, DEFAULT_SEGMENT_SIZE, type ParsedHeader } from './envelope/format.js';
export { rewrapFile, rewrapPath, type RewrapOptions, type RewrapResult } from './rewrap.js';
export { openDecrypted, decryptFileToBuffer, decryptToPrivateTemp, privateTempBase, type PrivateTemp, type PrivateTempOptions } from './serve.js';
export { nativeSegments, nativeProblem } from './envelope/native.js';
export { Keyring, listKeyring, openOrCreateKeyring, DEFAULT_SCRYPT, type KekListing } from './keyring.js';
export { ProviderSet } from './providers/provider-set.js';
export { createProvider, parseKeyRef, providerIds, registerProvider } from './providers/registry.js';
export type { KeyProvider, ProviderFactory, ProviderOptions, DataKey, WrappedKey, KeyDescription, WrapContext } from './providers/types.js';
