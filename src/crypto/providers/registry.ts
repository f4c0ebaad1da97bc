// The one list of key providers. Adding GCP KMS, Azure Key Vault or Vault Transit is one new file
// implementing KeyProvider plus one line below.
import { CryptoKeyRefInvalidError, CryptoProviderUnknownError } from '../errors.js';
import { awsKmsProviderFactory } from './aws-kms.js';
import { localKeyringProviderFactory } from './local-keyring.js';
import type { KeyProvider, ProviderFactory, ProviderOptions } from './types.js';

const factories = new Map<string, ProviderFactory>();

export function registerProvider(factory: ProviderFactory): void {
  if (factories.has(factory.id)) throw new Error(`duplicate key provider ${factory.id}`);
  factories.set(factory.id, factory);
}

registerProvider(localKeyringProviderFactory);
registerProvider(awsKmsProviderFactory);

export function providerIds(): string[] {
  return [...factories.keys()];
}

export function createProvider(id: string, options: ProviderOptions): KeyProvider {
  const factory = factories.get(id);
  if (!factory) throw new CryptoProviderUnknownError(`unknown key provider "${id}" (known: ${providerIds().join(', ')})`, { details: { provider: id } });
  return factory.create(options);
}

export interface ParsedKeyRef {
  provider: string;
  keyRef: string;
}

/**
 * Splits `PROVIDER:KEY` at the first colon: `local:my-kek` → local / my-kek,
 * `aws-kms:arn:aws:kms:...` → aws-kms / arn:aws:kms:....
 */
export function parseKeyRef(ref: string): ParsedKeyRef {
  const i = ref.indexOf(':');
  if (i <= 0 || i === ref.length - 1) throw new CryptoKeyRefInvalidError(`malformed key reference "${ref}" (expected PROVIDER:KEY, e.g. local:my-kek)`);
  const provider = ref.slice(0, i);
  if (!factories.has(provider)) throw new CryptoProviderUnknownError(`unknown key provider "${provider}" (known: ${providerIds().join(', ')})`, { details: { provider } });
  return { provider, keyRef: ref.slice(i + 1) };
}
