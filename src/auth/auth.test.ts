import { connect, createServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../config/schema.js';
import { silentLogger } from '../core/logger.js';
import { openStore } from '../store/index.js';
import type { KeyStore, Store } from '../store/types.js';
import { createDevPki, issueCert, type DevPki } from '../tls/pki.js';
import { ApiKeyCache, createApiKey, hashSecret, listApiKeys, parseApiKey, revokeApiKey, verifyApiKey } from './api-keys.js';
import { bearerToken, createAuthenticator } from './index.js';
import { claimAt, mapRoles } from './jwt.js';
import { parseSubjectAltName } from './mtls.js';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from './testing/jwks-server.js';

const code = (c: string) => expect.objectContaining({ code: c }) as Error;
const log = silentLogger();

let store: Store;
beforeAll(async () => {
  store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
});
afterAll(async () => {
  await store.close();
});

describe('API keys', () => {
  it('creates a key that is shown once and stored only as a hash', async () => {
    const { key, record } = await createApiKey(store.keys, { principal: 'alice', roles: ['analyst', 'analyst', 'dev'], description: 'laptop' });
    expect(key).toMatch(/^rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(key)!;
    expect(parsed.id).toBe(record.id);
    const stored = (await store.keys.getApiKey(record.id))!;
    expect(stored.secretHash).toBe(hashSecret(parsed.secret));
    expect(JSON.stringify(stored)).not.toContain(parsed.secret);
    expect(stored.roles).toEqual(['analyst', 'dev']);
    expect('secretHash' in record).toBe(false);
    const listed = await listApiKeys(store.keys);
    expect(listed.find((k) => k.id === record.id)).toMatchObject({ principal: 'alice', description: 'laptop' });
    expect(JSON.stringify(listed)).not.toMatch(/secretHash|[0-9a-f]{64}/);
  });

  it('verifies the right secret and refuses a wrong one, an unknown id and garbage', async () => {
    const { key, record } = await createApiKey(store.keys, { principal: 'svc-a', roles: [], kind: 'service' });
    await expect(verifyApiKey(store.keys, key)).resolves.toMatchObject({ id: record.id, kind: 'service' });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    await expect(verifyApiKey(store.keys, key.slice(0, -1) + last)).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    await expect(verifyApiKey(store.keys, `rk_0000000000000000_${'A'.repeat(43)}`)).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    for (const bad of ['', 'rk_', 'rk_zz_yy', key + 'x', key.toUpperCase(), 'Bearer ' + key]) {
      await expect(verifyApiKey(store.keys, bad)).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    }
  });

  it('refuses expired and revoked keys with distinct codes', async () => {
    const t0 = 1_800_000_000_000;
    const { key, record } = await createApiKey(store.keys, { principal: 'bob', roles: ['x'], expiresInMs: 60_000, now: t0 });
    await expect(verifyApiKey(store.keys, key, t0 + 59_999)).resolves.toBeTruthy();
    await expect(verifyApiKey(store.keys, key, t0 + 60_000)).rejects.toThrowError(code('RAMPART_ERR_AUTH_EXPIRED'));
    await revokeApiKey(store.keys, record.id);
    await expect(verifyApiKey(store.keys, key, t0)).rejects.toThrowError(code('RAMPART_ERR_AUTH_REVOKED'));
    await expect(revokeApiKey(store.keys, record.id)).rejects.toThrowError(code('RAMPART_ERR_AUTH_KEY_NOT_FOUND'));
    await expect(revokeApiKey(store.keys, 'ffffffffffffffff')).rejects.toThrowError(code('RAMPART_ERR_AUTH_KEY_NOT_FOUND'));
  });

  it('rejects bad principal and role names', async () => {
    await expect(createApiKey(store.keys, { principal: 'a b', roles: [] })).rejects.toThrowError(code('RAMPART_ERR_USAGE'));
    await expect(createApiKey(store.keys, { principal: 'a', roles: ['x,y'] })).rejects.toThrowError(code('RAMPART_ERR_USAGE'));
    await expect(createApiKey(store.keys, { principal: 'a', roles: [], expiresInMs: 0 })).rejects.toThrowError(code('RAMPART_ERR_USAGE'));
  });
});

describe('authenticator with API keys', () => {
  it('accepts Authorization: Bearer and x-api-key, refuses other schemes and missing credentials', async () => {
    const authn = createAuthenticator(authSchema.parse({}), store.keys, log);
    const { key, record } = await createApiKey(store.keys, { principal: 'carol', roles: ['analyst'] });
    const p = await authn.authenticate({ authorization: `Bearer ${key}`, sourceIp: '127.0.0.1' });
    expect(p).toEqual({ id: 'carol', kind: 'user', roles: ['analyst'], groups: [], authMethod: 'api-key', credentialId: record.id, attributes: {} });
    await expect(authn.authenticate({ apiKey: key, sourceIp: '::1' })).resolves.toMatchObject({ id: 'carol' });
    await expect(authn.authenticate({ authorization: `bearer  ${key} `, apiKey: key, sourceIp: '::1' })).resolves.toMatchObject({ id: 'carol' });
    await expect(authn.authenticate({ authorization: `Basic ${key}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    await expect(authn.authenticate({ sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_MISSING'));
    await expect(authn.authenticate({ authorization: '', apiKey: '', sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_MISSING'));
    await expect(authn.authenticate({ apiKey: 'nonsense', sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // A JWT-looking bearer while no issuer is configured.
    await expect(authn.authenticate({ authorization: 'Bearer a.b.c', sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    await authn.close();
  });

  it('refuses API keys when they are disabled', async () => {
    const authn = createAuthenticator(authSchema.parse({ apiKeys: { enabled: false } }), store.keys, log);
    const { key } = await createApiKey(store.keys, { principal: 'dave', roles: [] });
    await expect(authn.authenticate({ apiKey: key, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
  });

  it('parses bearer headers strictly', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('BEARER abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('Token abc')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});

describe('API key cache', () => {
  /** The real store, counting lookups. */
  function counting(): { keys: KeyStore; lookups: () => number } {
    let n = 0;
    const keys: KeyStore = {
      insertApiKey: (r) => store.keys.insertApiKey(r),
      listApiKeys: () => store.keys.listApiKeys(),
      revokeApiKey: (id, at) => store.keys.revokeApiKey(id, at),
      getApiKey: (id) => {
        n++;
        return store.keys.getApiKey(id);
      },
    };
    return { keys, lookups: () => n };
  }

  it('reuses a verified record within the TTL, still checking every secret', async () => {
    let t = 1_800_000_000_000;
    const { keys, lookups } = counting();
    const { key } = await createApiKey(store.keys, { principal: 'cached', roles: ['r'] });
    const authn = createAuthenticator(authSchema.parse({}), keys, log, { now: () => t, keyCacheTtlMs: 1000 });
    for (let i = 0; i < 5; i++) await expect(authn.authenticate({ authorization: `Bearer ${key}`, sourceIp: '' })).resolves.toMatchObject({ id: 'cached' });
    expect(lookups()).toBe(1);
    // A wrong secret for a cached id is refused without a lookup.
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    await expect(authn.authenticate({ apiKey: key.slice(0, -1) + last, sourceIp: '' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    expect(lookups()).toBe(1);
    t += 1000;
    await authn.authenticate({ apiKey: key, sourceIp: '' });
    expect(lookups()).toBe(2);
  });

  it('sees a revocation made in the store at most one TTL later', async () => {
    let t = Date.now();
    const { keys } = counting();
    const { key, record } = await createApiKey(store.keys, { principal: 'revoked-later', roles: [] });
    const authn = createAuthenticator(authSchema.parse({}), keys, log, { now: () => t, keyCacheTtlMs: 5000 });
    await authn.authenticate({ apiKey: key, sourceIp: '' });
    await revokeApiKey(store.keys, record.id);
    t += 4999;
    await expect(authn.authenticate({ apiKey: key, sourceIp: '' })).resolves.toBeTruthy();
    t += 1;
    await expect(authn.authenticate({ apiKey: key, sourceIp: '' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_REVOKED'));
  });

  it('checks expiry against the cached record, caches no failures, and can be disabled', async () => {
    const t0 = 1_800_000_000_000;
    let t = t0;
    const { keys, lookups } = counting();
    const { key } = await createApiKey(store.keys, { principal: 'short', roles: [], expiresInMs: 100, now: t0 });
    const authn = createAuthenticator(authSchema.parse({}), keys, log, { now: () => t, keyCacheTtlMs: 60_000 });
    await authn.authenticate({ apiKey: key, sourceIp: '' });
    t = t0 + 100;
    await expect(authn.authenticate({ apiKey: key, sourceIp: '' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_EXPIRED'));
    expect(lookups()).toBe(1);
    const unknown = `rk_0123456789abcdef_${'A'.repeat(43)}`;
    for (let i = 0; i < 3; i++) await expect(authn.authenticate({ apiKey: unknown, sourceIp: '' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    expect(lookups()).toBe(4);

    const off = counting();
    const { key: k2 } = await createApiKey(store.keys, { principal: 'uncached', roles: [] });
    const plain = createAuthenticator(authSchema.parse({}), off.keys, log, { keyCacheTtlMs: 0 });
    await plain.authenticate({ apiKey: k2, sourceIp: '' });
    await plain.authenticate({ apiKey: k2, sourceIp: '' });
    expect(off.lookups()).toBe(2);
  });

  it('authenticateSync answers from the cache only, with the same verdicts as authenticate', async () => {
    let t = 1_800_000_000_000;
    const { keys, lookups } = counting();
    const { key, record } = await createApiKey(store.keys, { principal: 'sync', roles: ['r'], expiresInMs: 10_000, now: t });
    const authn = createAuthenticator(authSchema.parse({}), keys, log, { now: () => t, keyCacheTtlMs: 60_000 });
    // Not cached yet: only authenticate() can decide (it asks the store and caches the record).
    expect(authn.authenticateSync!({ authorization: `Bearer ${key}`, sourceIp: '' })).toBeUndefined();
    expect(lookups()).toBe(0);
    await authn.authenticate({ authorization: `Bearer ${key}`, sourceIp: '' });
    expect(authn.authenticateSync!({ authorization: `Bearer ${key}`, sourceIp: '' })).toMatchObject({ id: 'sync', roles: ['r'], authMethod: 'api-key', credentialId: record.id });
    expect(authn.authenticateSync!({ apiKey: key, sourceIp: '' })).toMatchObject({ id: 'sync' });
    // One shared, frozen Principal per cached key record (the policy engine caches by the object).
    const shared = authn.authenticateSync!({ apiKey: key, sourceIp: '' })!;
    expect(await authn.authenticate({ apiKey: key, sourceIp: '' })).toBe(shared);
    expect(Object.isFrozen(shared) && Object.isFrozen(shared.roles)).toBe(true);
    // Refusals are thrown as authenticate() rejects: a wrong secret, a bad scheme, two different keys.
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(() => authn.authenticateSync!({ apiKey: key.slice(0, -1) + last, sourceIp: '' })).toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    expect(() => authn.authenticateSync!({ authorization: `Basic ${key}`, sourceIp: '' })).toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    expect(() => authn.authenticateSync!({ authorization: `Bearer ${key}`, apiKey: 'rk_other', sourceIp: '' })).toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // Nothing that needs more than the cache: no credential, a JWT-looking token.
    expect(authn.authenticateSync!({ sourceIp: '' })).toBeUndefined();
    expect(authn.authenticateSync!({ authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig', sourceIp: '' })).toBeUndefined();
    // Expiry is checked against the cached record.
    t += 10_000;
    expect(() => authn.authenticateSync!({ apiKey: key, sourceIp: '' })).toThrowError(code('RAMPART_ERR_AUTH_EXPIRED'));
    expect(lookups()).toBe(1);
    // With API keys disabled it never answers (authenticate() refuses them).
    const off = createAuthenticator(authSchema.parse({ apiKeys: { enabled: false } }), keys, log, { now: () => t });
    expect(off.authenticateSync!({ apiKey: key, sourceIp: '' })).toBeUndefined();
  });

  it('is bounded and invalidates by id', () => {
    const c = new ApiKeyCache(1000);
    const rec = { id: 'a', principal: 'p', kind: 'user' as const, roles: [], secretHash: '', description: null, createdAt: 0, expiresAt: null, revokedAt: null };
    c.set(rec, Buffer.alloc(32), 0);
    expect(c.get('a', 999)).toBeDefined();
    c.invalidate('a');
    expect(c.get('a', 1)).toBeUndefined();
    for (let i = 0; i < 10_001; i++) c.set({ ...rec, id: String(i) }, Buffer.alloc(32), 0);
    expect(c.size).toBeLessThanOrEqual(10_000);
  });
});

describe('JWT bearer tokens', () => {
  const ISS = 'https://issuer.test';
  const AUD = 'rampart';
  let k1: TestSigningKey;
  let k2: TestSigningKey;
  let ec: TestSigningKey;
  let jwks: JwksServer;

  beforeAll(async () => {
    [k1, k2, ec] = await Promise.all([makeSigningKey('k1'), makeSigningKey('k2'), makeSigningKey('e1', 'ES256')]);
    jwks = await startJwksServer([k1, ec]);
  });
  afterAll(async () => {
    await jwks.close();
  });

  function authn(extra: Record<string, unknown> = {}, cooldown = 0) {
    const auth = authSchema.parse({
      jwt: [
        {
          issuer: ISS,
          audience: AUD,
          jwksUrl: jwks.url,
          rolesClaim: 'realm_access.roles',
          roleMap: { 'ml-admins': ['admin', 'analyst'] },
          clockSkew: '30s',
          jwksCooldown: cooldown,
          ...extra,
        },
      ],
    });
    return createAuthenticator(auth, store.keys, log);
  }

  it('accepts a valid token and maps claims to principal and roles', async () => {
    const a = authn();
    const tok = await signToken(k1, { iss: ISS, aud: AUD, sub: 'u-123', jti: 'j1', realm_access: { roles: ['ml-admins', 'reader'] } }, { expiresIn: '5m' });
    const p = await a.authenticate({ authorization: `Bearer ${tok}`, sourceIp: '::1' });
    expect(p).toMatchObject({ id: 'u-123', kind: 'user', roles: ['admin', 'analyst', 'reader'], authMethod: 'jwt', credentialId: 'j1' });
    const tokEc = await signToken(ec, { iss: ISS, aud: [AUD, 'other'], sub: 'u-9' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${tokEc}`, sourceIp: '::1' })).resolves.toMatchObject({ id: 'u-9', roles: [] });
    await a.close();
  });

  it('uses a space-separated roles claim and a custom principal claim', async () => {
    const a = authn({ rolesClaim: 'scope', principalClaim: 'client_id', kind: 'service' });
    const tok = await signToken(k1, { iss: ISS, aud: AUD, client_id: 'batch-job', scope: 'infer  list' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${tok}`, sourceIp: '::1' })).resolves.toMatchObject({
      id: 'batch-job',
      kind: 'service',
      roles: ['infer', 'list'],
    });
    const noSub = await signToken(k1, { iss: ISS, aud: AUD, scope: 'x' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${noSub}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
  });

  it('refuses expired, not-yet-valid, wrong audience, wrong issuer, bad signature, alg none and tokens without exp', async () => {
    const a = authn();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: now - 120 });
    await expect(a.authenticate({ authorization: `Bearer ${expired}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_EXPIRED'));
    // Within the 30 s clock skew: still accepted.
    const justExpired = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: now - 10 });
    await expect(a.authenticate({ authorization: `Bearer ${justExpired}`, sourceIp: '::1' })).resolves.toMatchObject({ id: 'x' });
    const future = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: '10m', notBefore: now + 300 });
    await expect(a.authenticate({ authorization: `Bearer ${future}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    const wrongAud = await signToken(k1, { iss: ISS, aud: 'someone-else', sub: 'x' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${wrongAud}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    const wrongIss = await signToken(k1, { iss: 'https://evil.test', aud: AUD, sub: 'x' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${wrongIss}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    const noExp = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' });
    await expect(a.authenticate({ authorization: `Bearer ${noExp}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // Signed by a key that claims kid k1 but is not the served k1.
    const impostor = { ...(await makeSigningKey('k1')) };
    const forged = await signToken(impostor, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${forged}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // Tampered payload with the original signature.
    const good = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: '5m' });
    const [h, , s] = good.split('.');
    const evilPayload = Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, sub: 'admin', exp: now + 300 })).toString('base64url');
    await expect(a.authenticate({ authorization: `Bearer ${h}.${evilPayload}.${s}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // alg none.
    const none = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, sub: 'admin', exp: now + 300 })).toString('base64url'),
      '',
    ].join('.');
    await expect(a.authenticate({ authorization: `Bearer ${none}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    // HS256 signed with the public key material (algorithm confusion).
    const hs = [
      Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k1' })).toString('base64url'),
      Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, sub: 'admin', exp: now + 300 })).toString('base64url'),
      'AAAA',
    ].join('.');
    await expect(a.authenticate({ authorization: `Bearer ${hs}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    await expect(a.authenticate({ authorization: 'Bearer not-a-jwt', sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    await a.close();
  });

  it('refuses algorithms outside the allowed list', async () => {
    const a = authn({ algorithms: ['RS256'] });
    const tokEc = await signToken(ec, { iss: ISS, aud: AUD, sub: 'u' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${tokEc}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
  });

  it('picks up a rotated signing key by refetching the JWKS for an unknown kid', async () => {
    const a = authn({}, 0);
    const t1 = await signToken(k1, { iss: ISS, aud: AUD, sub: 'r' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${t1}`, sourceIp: '::1' })).resolves.toMatchObject({ id: 'r' });
    const before = jwks.fetches();
    // Repeated verification uses the cached key set.
    await a.authenticate({ authorization: `Bearer ${t1}`, sourceIp: '::1' });
    expect(jwks.fetches()).toBe(before);
    jwks.setKeys([k2]);
    const t2 = await signToken(k2, { iss: ISS, aud: AUD, sub: 'r2' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${t2}`, sourceIp: '::1' })).resolves.toMatchObject({ id: 'r2' });
    expect(jwks.fetches()).toBeGreaterThan(before);
    jwks.setKeys([k1, ec]);
    await a.close();
  });

  it('does not refetch the JWKS for unknown key ids within the cooldown', async () => {
    const a = authn({}, 60_000);
    const t1 = await signToken(k1, { iss: ISS, aud: AUD, sub: 'c' }, { expiresIn: '5m' });
    await a.authenticate({ authorization: `Bearer ${t1}`, sourceIp: '::1' });
    const before = jwks.fetches();
    const stranger = await makeSigningKey('not-served');
    for (let i = 0; i < 5; i++) {
      const t = await signToken(stranger, { iss: ISS, aud: AUD, sub: 'c' }, { expiresIn: '5m' });
      await expect(a.authenticate({ authorization: `Bearer ${t}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
    }
    expect(jwks.fetches()).toBe(before);
    await a.close();
  });

  it('reports an unreachable JWKS as unavailable, not as a bad token', async () => {
    const dead = await startJwksServer([k1]);
    const url = dead.url;
    await dead.close();
    const a = createAuthenticator(authSchema.parse({ jwt: [{ issuer: ISS, audience: AUD, jwksUrl: url }] }), store.keys, log);
    const tok = await signToken(k1, { iss: ISS, aud: AUD, sub: 'x' }, { expiresIn: '5m' });
    await expect(a.authenticate({ authorization: `Bearer ${tok}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_JWKS_UNAVAILABLE'));
    await a.close();
  });

  it('fetches a JWKS served over HTTPS by a private CA (jwksCa)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const pki = await createDevPki({ hosts: ['127.0.0.1'] });
    const secure = await startJwksServer([k1], { cert: pki.server.certPem, key: pki.server.keyPem });
    const dir = mkdtempSync(join(tmpdir(), 'rampart-auth-'));
    try {
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, pki.ca.certPem);
      const tok = await signToken(k1, { iss: ISS, aud: AUD, sub: 'tls-user' }, { expiresIn: '5m' });
      const withCa = createAuthenticator(authSchema.parse({ jwt: [{ issuer: ISS, audience: AUD, jwksUrl: secure.url, jwksCa: caFile }] }), store.keys, log);
      await expect(withCa.authenticate({ authorization: `Bearer ${tok}`, sourceIp: '::1' })).resolves.toMatchObject({ id: 'tls-user' });
      await withCa.close();
      // Without the CA the certificate is not trusted: the JWKS is unavailable.
      const withoutCa = createAuthenticator(authSchema.parse({ jwt: [{ issuer: ISS, audience: AUD, jwksUrl: secure.url }] }), store.keys, log);
      await expect(withoutCa.authenticate({ authorization: `Bearer ${tok}`, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_JWKS_UNAVAILABLE'));
      await withoutCa.close();
    } finally {
      await secure.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads dotted claims and maps roles', () => {
    expect(claimAt({ a: { b: { c: 1 } } }, 'a.b.c')).toBe(1);
    expect(claimAt({ 'a.b': 2 }, 'a.b')).toBe(2);
    expect(claimAt({ a: [1] }, 'a.0')).toBeUndefined();
    expect(mapRoles('x y x', {})).toEqual(['x', 'y']);
    expect(mapRoles(['g1', 3, '', 'g2'], { g1: ['r1', 'r2'], g2: [] })).toEqual(['r1', 'r2']);
    expect(mapRoles({ not: 'a list' }, {})).toEqual([]);
    expect(mapRoles(['__proto__'], {})).toEqual(['__proto__']);
  });
});

describe('mTLS identities', () => {
  let pki: DevPki;
  beforeAll(async () => {
    pki = await createDevPki({ clients: ['analyst-bot'] });
  });

  /** Performs a real mTLS handshake and returns the certificate the server verified. */
  async function handshake(client: { certPem: string; keyPem: string }): Promise<{ cert: PeerCertificate; authorized: boolean }> {
    const server = createServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const got = new Promise<{ cert: PeerCertificate; authorized: boolean }>((resolve) => {
      server.on('secureConnection', (s: TLSSocket) => {
        resolve({ cert: s.getPeerCertificate(), authorized: s.authorized });
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sock = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', ca: pki.ca.certPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' });
    sock.on('error', () => undefined);
    const result = await got;
    sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    return result;
  }

  it('names the caller from the subject CN and gives the configured roles', async () => {
    const { cert, authorized } = await handshake(pki.clients['analyst-bot']!);
    expect(authorized).toBe(true);
    const authn = createAuthenticator(authSchema.parse({ mtls: { roles: { 'analyst-bot': ['analyst'] } } }), store.keys, log);
    const p = await authn.authenticate({ peerCertificate: cert, sourceIp: '127.0.0.1' });
    expect(p).toMatchObject({ id: 'analyst-bot', kind: 'service', roles: ['analyst'], authMethod: 'mtls' });
    expect(p.credentialId).toMatch(/^[0-9A-F:]+$/);
    // A header credential takes precedence over the certificate.
    const { key } = await createApiKey(store.keys, { principal: 'erin', roles: [] });
    await expect(authn.authenticate({ peerCertificate: cert, apiKey: key, sourceIp: '127.0.0.1' })).resolves.toMatchObject({ id: 'erin' });
    // Without auth.mtls, a certificate alone is not a credential.
    const noMtls = createAuthenticator(authSchema.parse({}), store.keys, log);
    await expect(noMtls.authenticate({ peerCertificate: cert, sourceIp: '127.0.0.1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_MISSING'));
  });

  it('names the caller from a URI or DNS subjectAltName', async () => {
    const c = await issueCert(pki.ca, { commonName: 'ignored-cn', hosts: ['worker.internal'], uris: ['spiffe://example.org/ns/ml/sa/batch'], usage: 'client' });
    const { cert } = await handshake(c);
    const byUri = createAuthenticator(authSchema.parse({ mtls: { principalFrom: 'san.uri', roles: { 'spiffe://example.org/ns/ml/sa/batch': ['batch'] } } }), store.keys, log);
    await expect(byUri.authenticate({ peerCertificate: cert, sourceIp: '::1' })).resolves.toMatchObject({ id: 'spiffe://example.org/ns/ml/sa/batch', roles: ['batch'] });
    const byDns = createAuthenticator(authSchema.parse({ mtls: { principalFrom: 'san.dns' } }), store.keys, log);
    await expect(byDns.authenticate({ peerCertificate: cert, sourceIp: '::1' })).resolves.toMatchObject({ id: 'worker.internal', roles: [] });
    const byEmail = createAuthenticator(authSchema.parse({ mtls: { principalFrom: 'san.email' } }), store.keys, log);
    await expect(byEmail.authenticate({ peerCertificate: cert, sourceIp: '::1' })).rejects.toThrowError(code('RAMPART_ERR_AUTH_INVALID'));
  });

  it('parses subjectAltName strings including quoted values', () => {
    expect(parseSubjectAltName('DNS:a.example, URI:spiffe://x/y, email:a@b.c, IP Address:127.0.0.1')).toEqual([
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'spiffe://x/y' },
      { type: 'email', value: 'a@b.c' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    expect(parseSubjectAltName('DNS:"a, b", URI:u:v')).toEqual([
      { type: 'DNS', value: 'a, b' },
      { type: 'URI', value: 'u:v' },
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
    expect(parseSubjectAltName('garbage')).toEqual([]);
  });
});
