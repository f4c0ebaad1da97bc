import { CreateAliasCommand, CreateKeyCommand, KMSClient, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { startMoto, useMotoEnv, type Moto } from '../testing/moto.js';
import { AwsKmsProvider } from './aws-kms.js';
import { runProviderConformance } from './provider.case.js';

let moto: Moto | null = null;

runProviderConformance('AWS KMS (moto_server)', async () => {
  useMotoEnv();
  moto = await startMoto();
  const admin = new KMSClient({ endpoint: moto.endpoint });
  const a = (await admin.send(new CreateKeyCommand({ Description: 'rampart test a' }))).KeyMetadata!;
  const b = (await admin.send(new CreateKeyCommand({ Description: 'rampart test b' }))).KeyMetadata!;
  await admin.send(new CreateAliasCommand({ AliasName: 'alias/rampart-models', TargetKeyId: a.KeyId }));
  const provider = new AwsKmsProvider({ kmsEndpoint: moto.endpoint });
  return {
    provider,
    keyRef: 'alias/rampart-models',
    otherKeyRef: b.Arn!,
    missingKeyRef: 'alias/does-not-exist',
    versionChangesOnRotate: false,
    rotate: async () => {
      await admin.send(new RotateKeyOnDemandCommand({ KeyId: a.KeyId }));
    },
    teardown: async () => {
      admin.destroy();
      await moto?.stop();
    },
  };
});

describe('AWS KMS provider without a server', () => {
  it('reports an unreachable endpoint as PROVIDER_UNAVAILABLE', async () => {
    useMotoEnv();
    // Port 9 (discard) on loopback is closed on test machines: connection refused at once.
    const p = new AwsKmsProvider({ kmsEndpoint: 'http://127.0.0.1:9' });
    try {
      await p.generateDataKey('alias/x', { purpose: 't' });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('RAMPART_ERR_CRYPTO_PROVIDER_UNAVAILABLE');
    } finally {
      await p.close();
    }
  });
});
