// API keys: creation, parsing and verification. A key reads `rk_<id>_<secret>`: the id is public
// (hex, safe to log and to show in `rampart keys list`), the secret is 32 random bytes in base64url.
// Only the SHA-256 of the secret is stored; 256 bits of entropy make a slow hash pointless, and
// the comparison is constant-time so response timing reveals nothing about the stored hash.
import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import type { ApiKeyRecord, KeyStore } from '../store/types.js';
import { ApiKeyNotFoundError, AuthExpiredError, AuthInvalidError, AuthRevokedError } from './errors.js';

export const API_KEY_PREFIX = 'rk_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const KEY_RE = /^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Principal ids and role names: printable, no spaces or commas (they are split on commas in the CLI). */
const NAME_RE = /^[A-Za-z0-9._:@/+=-]{1,200}$/;

export interface CreateApiKeyOptions {
  principal: string;
  roles: string[];
  kind?: 'user' | 'service';
  /** Lifetime in milliseconds; absent or null: the key does not expire. */
  expiresInMs?: number | null;
  description?: string | null;
  /** Clock, for tests. */
  now?: number;
}

export interface CreatedApiKey {
  /** The full key. Shown once; it cannot be recovered later. */
  key: string;
  record: PublicApiKey;
}

/** What may be shown about a stored key: everything but the secret hash. */
export type PublicApiKey = Omit<ApiKeyRecord, 'secretHash'>;

// One-shot hashing (Node >= 20.12) runs on every request. Its hex output is used, not a Buffer:
// on Node 20 a one-shot 'buffer' digest costs four times a hex one (1.6 against 0.4 µs).
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/**
 * The SHA-256 of a secret as the bytes of its lower-case hex digest: the form stored hashes are
 * compared in (the bytes of the stored hex string), 64 bytes each, in constant time.
 */
function sha256HexBytes(s: string): Buffer {
  return Buffer.from(oneShot !== undefined ? oneShot('sha256', s, 'hex') : hashSecret(s), 'latin1');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Splits a presented key into id and secret; null when it does not have the key format. */
export function parseApiKey(key: string): { id: string; secret: string } | null {
  const m = KEY_RE.exec(key);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

export function checkName(what: string, value: string): void {
  if (!NAME_RE.test(value)) {
    throw new UsageError(`invalid ${what} "${value}": use 1-200 letters, digits or . _ : @ / + = -`);
  }
}

/**
 * Creates and stores a new key and returns it once.
 *
 * @example
 * const { key } = await createApiKey(store.keys, { principal: 'alice', roles: ['analyst'], expiresInMs: 30 * 86_400_000 });
 */
export async function createApiKey(keys: KeyStore, opts: CreateApiKeyOptions): Promise<CreatedApiKey> {
  checkName('principal', opts.principal);
  for (const r of opts.roles) checkName('role', r);
  if (opts.expiresInMs !== undefined && opts.expiresInMs !== null && !(opts.expiresInMs > 0)) {
    throw new UsageError('the expiry must be a positive duration');
  }
  const now = opts.now ?? Date.now();
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const record: ApiKeyRecord = {
    id,
    principal: opts.principal,
    kind: opts.kind ?? 'user',
    roles: [...new Set(opts.roles)],
    secretHash: hashSecret(secret),
    description: opts.description ?? null,
    createdAt: now,
    expiresAt: opts.expiresInMs ? now + opts.expiresInMs : null,
    revokedAt: null,
  };
  await keys.insertApiKey(record);
  return { key: `${API_KEY_PREFIX}${id}_${secret}`, record: toPublic(record) };
}

export function toPublic(rec: ApiKeyRecord): PublicApiKey {
  const { secretHash: _omitted, ...rest } = rec;
  return rest;
}

export async function listApiKeys(keys: KeyStore): Promise<PublicApiKey[]> {
  return (await keys.listApiKeys()).map(toPublic);
}

/** Revokes a key by id; throws RAMPART_ERR_AUTH_KEY_NOT_FOUND when there is no such active key. */
export async function revokeApiKey(keys: KeyStore, id: string, now: number = Date.now()): Promise<void> {
  if (!(await keys.revokeApiKey(id, now))) throw new ApiKeyNotFoundError(`no active API key with id ${id}`);
}

// A fixed hash compared against when the id is unknown, so unknown ids cost the same as wrong secrets.
const DUMMY_HASH = Buffer.from(hashSecret('rampart-no-such-key'), 'latin1');

/** Default lifetime of a cached key record: the longest a revocation made elsewhere can go unseen. */
export const DEFAULT_KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

/**
 * A short-lived, bounded in-memory cache of stored key records, so a busy client does not cost a
 * store lookup per request. Only records whose secret matched are cached, keyed by key id; every
 * request still hashes its secret and compares it in constant time with the cached hash, and
 * revocation and expiry are checked against the cached record. A key revoked in the store (by the
 * CLI, another replica, ...) is therefore refused at most `ttlMs` after the revocation; a
 * revocation through `invalidate()` (same process) takes effect at once.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { rec: ApiKeyRecord; hash: Buffer; until: number }>();

  constructor(readonly ttlMs: number = DEFAULT_KEY_CACHE_TTL_MS) {}

  get(id: string, now: number): { rec: ApiKeyRecord; hash: Buffer } | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.until <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return e;
  }

  set(rec: ApiKeyRecord, hash: Buffer, now: number): void {
    if (this.ttlMs <= 0) return;
    // Bounded: past the limit start again rather than track recency (a miss only costs a lookup).
    if (this.entries.size >= KEY_CACHE_MAX) this.entries.clear();
    this.entries.set(rec.id, { rec, hash, until: now + this.ttlMs });
  }

  invalidate(id?: string): void {
    if (id === undefined) this.entries.clear();
    else this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Checks a presented key. Throws RAMPART_ERR_AUTH_INVALID (malformed, unknown id, wrong secret),
 * RAMPART_ERR_AUTH_REVOKED or RAMPART_ERR_AUTH_EXPIRED. Revocation and expiry are only reported
 * once the secret has matched, so they reveal nothing to someone who merely knows a key id.
 */
export async function verifyApiKey(keys: KeyStore, presented: string, now: number = Date.now(), cache?: ApiKeyCache): Promise<ApiKeyRecord> {
  const parsed = parseApiKey(presented);
  if (!parsed) throw new AuthInvalidError('malformed API key');
  const hit = cache?.get(parsed.id, now);
  if (hit) return judge(parsed.id, sha256HexBytes(parsed.secret), hit.rec, hit.hash, now);
  const rec = await keys.getApiKey(parsed.id);
  const stored = rec && /^[0-9a-f]{64}$/.test(rec.secretHash) ? Buffer.from(rec.secretHash, 'latin1') : DUMMY_HASH;
  return judge(parsed.id, sha256HexBytes(parsed.secret), rec, stored, now, cache);
}

/**
 * verifyApiKey without a promise when the key's record is in `cache`: the record (or the same
 * refusal), or undefined on a cache miss, when verifyApiKey must ask the store.
 */
export function verifyCachedApiKey(presented: string, now: number, cache: ApiKeyCache): ApiKeyRecord | undefined {
  const parsed = parseApiKey(presented);
  if (!parsed) throw new AuthInvalidError('malformed API key');
  const hit = cache.get(parsed.id, now);
  return hit ? judge(parsed.id, sha256HexBytes(parsed.secret), hit.rec, hit.hash, now) : undefined;
}

/** The verdict on a presented secret's hash against a stored record (cached on a match when `cacheOnMatch`). */
function judge(id: string, given: Buffer, rec: ApiKeyRecord | null, stored: Buffer, now: number, cacheOnMatch?: ApiKeyCache): ApiKeyRecord {
  const match = timingSafeEqual(given, stored);
  if (!rec || !match) throw new AuthInvalidError('invalid API key', { details: { keyId: id } });
  cacheOnMatch?.set(rec, stored, now);
  if (rec.revokedAt !== null) throw new AuthRevokedError('the API key has been revoked', { details: { keyId: rec.id } });
  if (rec.expiresAt !== null && rec.expiresAt <= now) {
    throw new AuthExpiredError('the API key has expired', { details: { keyId: rec.id } });
  }
  return rec;
}
