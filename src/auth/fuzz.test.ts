// Fuzz-style tests of the parsers that see untrusted bytes: Authorization / x-api-key headers,
// API keys, JWTs and certificate subjectAltName strings. Every input must end in a coded auth
// error (or a valid principal), never another exception or a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../config/schema.js';
import { isRampartError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createApiKey } from './api-keys.js';
import { createAuthenticator } from './index.js';
import { parseSubjectAltName } from './mtls.js';
import { makeSigningKey, signToken, startJwksServer, type JwksServer } from './testing/jwks-server.js';

/** Small seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcXYZ019_-.=+/ \t:%"\\\u0000\u00e9\u{1F600}rk_eyJ';

function mutate(s: string, r: () => number): string {
  const chars = [...s];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (chars.length + 1));
    const op = r();
    const c = [...ALPHABET][Math.floor(r() * [...ALPHABET].length)]!;
    if (op < 0.33) chars.splice(pos, 1);
    else if (op < 0.66) chars.splice(pos, 0, c);
    else chars[pos] = c;
  }
  return chars.join('');
}

const AUTH_CODES = new Set(['RAMPART_ERR_AUTH_MISSING', 'RAMPART_ERR_AUTH_INVALID', 'RAMPART_ERR_AUTH_EXPIRED', 'RAMPART_ERR_AUTH_REVOKED']);

let store: Store;
let jwks: JwksServer;
let apiKey: string;
let jwt: string;
const ISS = 'https://fuzz.test';

beforeAll(async () => {
  store = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
  apiKey = (await createApiKey(store.keys, { principal: 'fuzz', roles: ['r'] })).key;
  const k = await makeSigningKey('f1', 'ES256');
  jwks = await startJwksServer([k]);
  jwt = await signToken(k, { iss: ISS, aud: 'rampart', sub: 'fuzz' }, { expiresIn: '10m' });
});
afterAll(async () => {
  await jwks.close();
  await store.close();
});

describe('authentication fuzzing', () => {
  it('answers every mutated API key, JWT and header with a coded auth error or the right principal', async () => {
    const authn = createAuthenticator(authSchema.parse({ jwt: [{ issuer: ISS, audience: 'rampart', jwksUrl: jwks.url }] }), store.keys, silentLogger(), { jwksCooldownMs: 60_000 });
    const r = rng(0x5eed);
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const base = i % 3 === 0 ? apiKey : i % 3 === 1 ? jwt : `Bearer ${apiKey}`;
      const v = mutate(base, r);
      const input = i % 2 ? { authorization: v.startsWith('Bearer') ? v : `Bearer ${v}`, sourceIp: '::1' } : { apiKey: v, sourceIp: '::1' };
      try {
        const p = await authn.authenticate(input);
        expect(p.id).toBe('fuzz');
        accepted++;
      } catch (e) {
        if (!isRampartError(e) || !AUTH_CODES.has(e.code)) throw e;
      }
    }
    // Almost every mutation must be refused; a few (whitespace around a bearer token) are harmless.
    expect(accepted).toBeLessThan(60);
    await authn.close();
  });

  it('parses arbitrary subjectAltName strings without throwing or looping', () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const s = mutate('DNS:a.example, URI:"spiffe://x/y, z", email:a@b.c', r);
      const out = parseSubjectAltName(s);
      expect(Array.isArray(out)).toBe(true);
      expect(out.length).toBeLessThanOrEqual(s.length);
    }
  });
});
