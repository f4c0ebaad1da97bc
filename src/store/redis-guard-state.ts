// Guard state in Redis (store `postgres` with `redisUrl`), next to the quota counters: the
// extraction detector's per-principal state and penalties are read and written on the hot path,
// which Redis serves with one round trip. Each entry is a hash {v: value, n: version, e: expiresAt};
// compare-and-set is one Lua script, atomic on the server. Redis drops an entry by itself one
// minute after it expired (the time to live is taken relative to the caller's clock).
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from './errors.js';
import { checkCasArgs, checkStateKey } from './guard-state-args.js';
import type { GuardStateEntry, GuardStateStore } from './types.js';

// KEYS[1] entry; ARGV expectedVersion, value, expiresAt, now. Returns the new version or -1.
const CAS_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'n', 'e')
local n = tonumber(cur[1])
local e = tonumber(cur[2])
local expected = tonumber(ARGV[1])
local expires = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local live = n ~= nil and e ~= nil and e > now
if expected == 0 then
  if live then return -1 end
elseif (not live) or n ~= expected then
  return -1
end
local v = (n or 0) + 1
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'n', v, 'e', ARGV[3])
local ttl = math.ceil(expires - now)
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl + 60000)
return v
`;

interface ScriptedRedis extends Redis {
  rampartStateCas(key: string, expected: string, value: string, expiresAt: string, now: string): Promise<number>;
}

export class RedisGuardStateStore implements GuardStateStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.rampartStateCas !== 'function') this.redis.defineCommand('rampartStateCas', { numberOfKeys: 1, lua: CAS_LUA });
  }

  private k(key: string): string {
    return `${this.prefix}g:${key}`;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`redis: ${what} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getState(key: string, now: number): Promise<GuardStateEntry | null> {
    checkStateKey(key);
    const r = await this.call('read guard state', () => this.redis.hmget(this.k(key), 'v', 'n', 'e'));
    const [v, n, e] = [r[0] ?? null, r[1] ?? null, r[2] ?? null];
    if (v === null || n === null || e === null || !(Number(e) > now)) return null;
    return { value: v, version: Number(n), expiresAt: Number(e) };
  }

  async casState(key: string, expectedVersion: number, value: string, expiresAt: number, now: number): Promise<number | null> {
    checkCasArgs(key, expectedVersion, value, expiresAt, now);
    const v = await this.call('write guard state', () =>
      this.redis.rampartStateCas(this.k(key), String(expectedVersion), value, String(expiresAt), String(now)),
    );
    return v === -1 ? null : Number(v);
  }

  async deleteState(key: string): Promise<boolean> {
    checkStateKey(key);
    return (await this.call('delete guard state', () => this.redis.del(this.k(key)))) === 1;
  }

  /** Redis drops expired entries itself; this removes those already expired by the caller's clock. */
  async pruneState(now: number): Promise<number> {
    return this.call('prune guard state', async () => {
      let removed = 0;
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}g:*`, 'COUNT', 500);
        cursor = next;
        for (const k of keys) {
          const e = await this.redis.hget(k, 'e');
          if (e !== null && Number(e) <= now) removed += await this.redis.del(k);
        }
      } while (cursor !== '0');
      return removed;
    });
  }
}
