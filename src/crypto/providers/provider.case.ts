// The conformance suite every KeyProvider must pass (run by local-keyring.test.ts and
// aws-kms.test.ts; a new provider adds one test file calling runProviderConformance).
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptIterable, encryptIterable } from '../envelope/envelope.js';
import { WRAP_CONTEXT } from '../envelope/format.js';
import { ProviderSet } from './provider-set.js';
import type { KeyProvider } from './types.js';
import { codeOf } from '../testing/fixtures.js';

export interface ConformanceSetup {
  provider: KeyProvider;
  /** A usable key. */
  keyRef: string;
  /** Another usable key of the same provider. */
  otherKeyRef: string;
  /** A key reference that does not exist. */
  missingKeyRef: string;
  /** Makes a new version of keyRef current, if the provider supports on-demand rotation. */
  rotate?: () => Promise<void>;
  /** Whether the key version reported changes on rotation (false for KMS: versions are internal). */
  versionChangesOnRotate: boolean;
  /** Retires one version of keyRef, if the provider supports it. */
  retire?: (keyVersion: string) => Promise<void>;
  teardown?: () => Promise<void>;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

export function runProviderConformance(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`KeyProvider conformance: ${name}`, () => {
    let s: ConformanceSetup;
    beforeAll(async () => {
      s = await setup();
    });
    afterAll(async () => {
      await s?.provider.close?.();
      await s?.teardown?.();
    });

    it('peekWrap, when offered, foretells the key version and wrapped length of wrap(); null for a missing key', async () => {
      if (!s.provider.peekWrap) return;
      const peek = await s.provider.peekWrap(s.keyRef);
      const w = await s.provider.wrap(Buffer.alloc(32, 5), s.keyRef, WRAP_CONTEXT);
      expect(peek).toEqual({ keyVersion: w.keyVersion, wrappedLength: w.wrapped.length });
      expect(await s.provider.peekWrap(s.missingKeyRef)).toBeNull();
    });

    it('generates a fresh 32-byte data key that unwraps to the same bytes', async () => {
      const a = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      const b = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      expect(a.plaintext.length).toBe(32);
      expect(a.plaintext.equals(b.plaintext)).toBe(false);
      expect(a.wrapped.includes(a.plaintext)).toBe(false);
      expect(typeof a.keyVersion).toBe('string');
      expect(a.keyVersion.length).toBeGreaterThan(0);
      expect((await s.provider.unwrap(a.wrapped, s.keyRef, a.keyVersion, WRAP_CONTEXT)).equals(a.plaintext)).toBe(true);
    });

    it('wraps an existing key (rewrap) and unwraps it', async () => {
      const dk = Buffer.alloc(32, 0x5a);
      const w = await s.provider.wrap(dk, s.keyRef, WRAP_CONTEXT);
      expect((await s.provider.unwrap(w.wrapped, s.keyRef, w.keyVersion, WRAP_CONTEXT)).equals(dk)).toBe(true);
    });

    it('refuses another wrap context', async () => {
      const a = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      expect(await codeOf(s.provider.unwrap(a.wrapped, s.keyRef, a.keyVersion, { purpose: 'something-else' }))).toBe('RAMPART_ERR_CRYPTO_WRONG_KEY');
    });

    it('refuses to unwrap with another key', async () => {
      const a = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      expect(await codeOf(s.provider.unwrap(a.wrapped, s.otherKeyRef, a.keyVersion, WRAP_CONTEXT))).toBe('RAMPART_ERR_CRYPTO_WRONG_KEY');
    });

    it('refuses an altered wrapped key', async () => {
      const a = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      for (const at of [0, Math.floor(a.wrapped.length / 2), a.wrapped.length - 1]) {
        const bad = Buffer.from(a.wrapped);
        bad[at]! ^= 0x10;
        expect(await codeOf(s.provider.unwrap(bad, s.keyRef, a.keyVersion, WRAP_CONTEXT)), `byte ${at}`).toBe('RAMPART_ERR_CRYPTO_WRONG_KEY');
      }
    });

    it('reports a missing key as KEY_NOT_FOUND', async () => {
      expect(await codeOf(s.provider.generateDataKey(s.missingKeyRef, WRAP_CONTEXT))).toBe('RAMPART_ERR_CRYPTO_KEY_NOT_FOUND');
      expect(await codeOf(s.provider.describe(s.missingKeyRef))).toBe('RAMPART_ERR_CRYPTO_KEY_NOT_FOUND');
    });

    it('describes a key without revealing key material', async () => {
      const a = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      const d = await s.provider.describe(s.keyRef);
      expect(d.provider).toBe(s.provider.id);
      expect(d.versions.length).toBeGreaterThan(0);
      expect(d.versions.map((v) => v.version)).toContain(d.currentVersion);
      const text = JSON.stringify(d);
      expect(text).not.toContain(a.plaintext.toString('base64'));
      expect(text).not.toContain(a.plaintext.toString('hex'));
    });

    it('round trips an envelope-encrypted file through the provider', async () => {
      const providers = new ProviderSet({}, [s.provider]);
      const data = Buffer.from('weights '.repeat(20_000));
      const ct = await collect(encryptIterable([data], { key: `${s.provider.id}:${s.keyRef}`, providers }));
      expect((await collect(decryptIterable(Readable.from([ct]), { providers }))).equals(data)).toBe(true);
    });

    it('after rotation, old wraps still unwrap and new wraps use the new version', async (ctx) => {
      if (!s.rotate) return ctx.skip();
      const before = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      await s.rotate();
      const after = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      if (s.versionChangesOnRotate) {
        expect(after.keyVersion).not.toBe(before.keyVersion);
        expect((await s.provider.describe(s.keyRef)).currentVersion).toBe(after.keyVersion);
      }
      expect((await s.provider.unwrap(before.wrapped, s.keyRef, before.keyVersion, WRAP_CONTEXT)).equals(before.plaintext)).toBe(true);
      expect((await s.provider.unwrap(after.wrapped, s.keyRef, after.keyVersion, WRAP_CONTEXT)).equals(after.plaintext)).toBe(true);
      const rewrapped = await s.provider.wrap(before.plaintext, s.keyRef, WRAP_CONTEXT);
      expect(rewrapped.keyVersion).toBe(after.keyVersion);
    });

    it('a retired version refuses with KEY_RETIRED while the current one works', async (ctx) => {
      if (!s.retire || !s.rotate) return ctx.skip();
      const old = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      await s.rotate();
      const cur = await s.provider.generateDataKey(s.keyRef, WRAP_CONTEXT);
      await s.retire(old.keyVersion);
      expect(await codeOf(s.provider.unwrap(old.wrapped, s.keyRef, old.keyVersion, WRAP_CONTEXT))).toBe('RAMPART_ERR_CRYPTO_KEY_RETIRED');
      expect((await s.provider.unwrap(cur.wrapped, s.keyRef, cur.keyVersion, WRAP_CONTEXT)).equals(cur.plaintext)).toBe(true);
    });
  });
}
