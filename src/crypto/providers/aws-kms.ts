// Key provider `aws-kms`: data keys from AWS KMS (GenerateDataKey / Decrypt / Encrypt).
// Key reference = a KMS key id, key ARN, alias name (alias/...) or alias ARN. Key version = the key
// ARN KMS reports for the wrap: KMS keeps every backing-key version of a key internally and picks
// the right one from the ciphertext blob, so automatic or on-demand rotation needs no action here,
// and `rewrap` simply asks KMS to wrap under the key's current backing key. Retiring = disabling
// the KMS key (KMS then refuses Decrypt, reported as RAMPART_ERR_CRYPTO_KEY_RETIRED).
// Endpoint and region come from the standard AWS environment (AWS_REGION, AWS_ENDPOINT_URL_KMS,
// credentials chain) or the `kmsEndpoint` / `awsRegion` options.
// The SDK is loaded on first use: it is a large module graph that every `rampart` start would
// otherwise pay for, whether or not it uses KMS.
import type * as KmsSdk from '@aws-sdk/client-kms';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { RampartError } from '../../core/errors.js';
import { CryptoKeyNotFoundError, CryptoKeyRetiredError, CryptoProviderUnavailableError, CryptoWrongKeyError } from '../errors.js';
import type { DataKey, KeyDescription, KeyProvider, ProviderFactory, ProviderOptions, WrapContext, WrappedKey } from './types.js';

export const AWS_KMS_PROVIDER_ID = 'aws-kms';

/** Maps an SDK failure to a coded error; the message names the key, never any key material. */
function mapError(err: unknown, keyRef: string, op: string): RampartError {
  const name = (err as { name?: string } | null)?.name ?? '';
  const details = { keyRef, op, awsError: name };
  switch (name) {
    case 'NotFoundException':
      return new CryptoKeyNotFoundError(`KMS key "${keyRef}" was not found`, { details });
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      return new CryptoWrongKeyError(`KMS could not unwrap the data key with "${keyRef}"`, { details });
    case 'AccessDeniedException':
      // Decrypt with a KeyId other than the blob's is refused this way by some KMS implementations.
      if (op === 'Decrypt') return new CryptoWrongKeyError(`KMS refused to unwrap the data key with "${keyRef}" (wrong key, or no kms:Decrypt permission)`, { details });
      return new CryptoProviderUnavailableError(`AWS KMS ${op} was denied for "${keyRef}" (check kms:${op} permission)`, { details });
    case 'DisabledException':
    case 'KMSInvalidStateException':
    case 'KeyUnavailableException':
      return new CryptoKeyRetiredError(`KMS key "${keyRef}" is disabled or not usable (${name})`, { details });
    default:
      return new CryptoProviderUnavailableError(`AWS KMS ${op} failed for "${keyRef}"${name ? ` (${name})` : ''}`, { details });
  }
}

type Sdk = typeof KmsSdk;

export class AwsKmsProvider implements KeyProvider {
  readonly id = AWS_KMS_PROVIDER_ID;
  private readonly config: { region?: string; endpoint?: string; maxAttempts: number };
  private ready: Promise<{ sdk: Sdk; client: KMSClient }> | null = null;

  constructor(options: ProviderOptions) {
    const env = options.env ?? process.env;
    // The SDK warns on every CLI run that future versions need Node 22; that is for us, not users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const region = options.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const endpoint = options.kmsEndpoint ?? env.AWS_ENDPOINT_URL_KMS;
    this.config = { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), maxAttempts: 3 };
  }

  private kms(): Promise<{ sdk: Sdk; client: KMSClient }> {
    this.ready ??= import('@aws-sdk/client-kms').then((sdk) => ({ sdk, client: new sdk.KMSClient(this.config) }));
    return this.ready;
  }

  async generateDataKey(keyRef: string, context: WrapContext): Promise<DataKey> {
    try {
      const { sdk, client } = await this.kms();
      const out = await client.send(new sdk.GenerateDataKeyCommand({ KeyId: keyRef, KeySpec: 'AES_256', EncryptionContext: { ...context } }));
      if (!out.Plaintext || !out.CiphertextBlob || !out.KeyId) throw new Error('incomplete GenerateDataKey response');
      return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob), keyVersion: out.KeyId };
    } catch (err) {
      throw mapError(err, keyRef, 'GenerateDataKey');
    }
  }

  async unwrap(wrapped: Buffer, keyRef: string, _keyVersion: string, context: WrapContext): Promise<Buffer> {
    // KeyId pins the key KMS must use, so a blob wrapped under another key is refused even if the
    // caller's credentials could decrypt it.
    try {
      const { sdk, client } = await this.kms();
      const out = await client.send(new sdk.DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyRef, EncryptionContext: { ...context } }));
      if (!out.Plaintext) throw new Error('incomplete Decrypt response');
      return Buffer.from(out.Plaintext);
    } catch (err) {
      throw mapError(err, keyRef, 'Decrypt');
    }
  }

  async wrap(plaintext: Buffer, keyRef: string, context: WrapContext): Promise<WrappedKey> {
    try {
      const { sdk, client } = await this.kms();
      const out = await client.send(new sdk.EncryptCommand({ KeyId: keyRef, Plaintext: plaintext, EncryptionContext: { ...context } }));
      if (!out.CiphertextBlob || !out.KeyId) throw new Error('incomplete Encrypt response');
      return { wrapped: Buffer.from(out.CiphertextBlob), keyVersion: out.KeyId };
    } catch (err) {
      throw mapError(err, keyRef, 'Encrypt');
    }
  }

  async describe(keyRef: string): Promise<KeyDescription> {
    try {
      const { sdk, client } = await this.kms();
      const out = await client.send(new sdk.DescribeKeyCommand({ KeyId: keyRef }));
      const md = out.KeyMetadata;
      if (!md?.Arn) throw new Error('incomplete DescribeKey response');
      return {
        provider: this.id,
        keyRef,
        currentVersion: md.Arn,
        versions: [{ version: md.Arn, created: md.CreationDate?.toISOString(), retired: md.Enabled === false ? (md.KeyState ?? 'Disabled') : null }],
      };
    } catch (err) {
      throw mapError(err, keyRef, 'DescribeKey');
    }
  }

  async close(): Promise<void> {
    const ready = this.ready;
    this.ready = null;
    if (ready) (await ready).client.destroy();
  }
}

export const awsKmsProviderFactory: ProviderFactory = {
  id: AWS_KMS_PROVIDER_ID,
  description: 'AWS KMS keys (key id, ARN or alias/NAME); region and credentials from the AWS environment, --kms-endpoint to override',
  create: (options) => new AwsKmsProvider(options),
};
