// Quota counters in Redis, shared by every gateway replica. Each operation is one Lua script, so
// read-refill-take happens atomically on the Redis server: two replicas can never both spend the
// last token. The arithmetic is the same as counter-math.ts (Lua numbers are IEEE doubles too).
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import { checkBucketArgs, checkWindowArgs, windowStart } from './counter-math.js';
import { StoreOpenError, StoreUnavailableError } from './errors.js';
import type { CounterStore, TakeResult } from './types.js';

// KEYS[1] bucket hash {t = tokens, u = updated at}; ARGV capacity, refillPerMs, cost, now.
// Returns {allowed (0/1), tokens left as a string (Lua would truncate a number), retryAfterMs}.
const TAKE_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(s[1])
local updated = tonumber(s[2])
if tokens == nil or updated == nil then
  tokens = capacity
  updated = now
end
local elapsed = now - updated
if elapsed < 0 then elapsed = 0 end
local avail = tokens + elapsed * rate
if avail > capacity then avail = capacity end
if now > updated then updated = now end
local allowed = 0
local left = avail
local retry = 0
if avail >= cost then
  allowed = 1
  left = avail - cost
else
  retry = math.ceil((cost - avail) / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', left), 'u', string.format('%.17g', updated))
-- Once it would have refilled completely the bucket is the same as a missing one.
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - left) / rate) + 60000)
return {allowed, string.format('%.17g', left), retry}
`;

// KEYS[1] window counter; ARGV amount, time to live (ms). Returns the new total as a string.
const ADD_LUA = `
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v
`;

interface ScriptedRedis extends Redis {
  rampartTake(key: string, capacity: string, rate: string, cost: string, now: string): Promise<[number, string, number]>;
  rampartAdd(key: string, amount: string, ttlMs: string): Promise<string>;
}

/** Doubles sent to Lua at full precision (String() can round-trip every double). */
const d = (n: number) => String(n);

export class RedisCounterStore implements CounterStore {
  constructor(
    private readonly redis: ScriptedRedis,
    /** Prefix of every key (shared with the guard-state store on the same connection). */
    readonly prefix: string,
  ) {}

  /** The connection, shared with the guard-state store (redis-guard-state.ts). */
  get client(): Redis {
    return this.redis;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`redis: ${what} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async takeTokens(key: string, capacity: number, refillPerMs: number, cost: number, now: number): Promise<TakeResult> {
    checkBucketArgs(key, capacity, refillPerMs, cost, now);
    const [allowed, left, retry] = await this.call('take tokens', () =>
      this.redis.rampartTake(`${this.prefix}b:${key}`, d(capacity), d(refillPerMs), d(cost), d(now)),
    );
    return allowed === 1 ? { allowed: true, remaining: Number(left), retryAfterMs: 0 } : { allowed: false, remaining: 0, retryAfterMs: Number(retry) };
  }

  private windowKey(key: string, windowMs: number, start: number): string {
    return `${this.prefix}w:${windowMs}:${start}:${key}`;
  }

  async addToWindow(key: string, windowMs: number, amount: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now, amount);
    const start = windowStart(windowMs, now);
    // Kept one window past its end so a replica with a slightly slow clock still finds it. The
    // time to live is relative to the caller's `now`, so it does not depend on the Redis clock.
    const ttl = Math.ceil(start + 2 * windowMs - now) + 60_000;
    const v = await this.call('add to window', () => this.redis.rampartAdd(this.windowKey(key, windowMs, start), d(amount), String(ttl)));
    return Number(v);
  }

  async getWindow(key: string, windowMs: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now);
    const v = await this.call('read window', () => this.redis.get(this.windowKey(key, windowMs, windowStart(windowMs, now))));
    return v === null ? 0 : Number(v);
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

export async function openRedisCounters(url: string, logger: Logger, prefix: string): Promise<RedisCounterStore> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail a command after a few reconnect attempts instead of queueing it forever: a quota
    // check must answer (the caller decides whether to fail open or closed).
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
  }) as ScriptedRedis;
  redis.defineCommand('rampartTake', { numberOfKeys: 1, lua: TAKE_LUA });
  redis.defineCommand('rampartAdd', { numberOfKeys: 1, lua: ADD_LUA });
  redis.on('error', (err: Error) => logger.warn({ err: { message: err.message } }, 'store: Redis connection error'));
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    let where = '(unparseable URL)';
    try {
      const u = new URL(url);
      where = `${u.protocol}//${u.host}`;
    } catch {
      // keep the placeholder
    }
    throw new StoreOpenError(`cannot connect to Redis at ${where}: ${(e as Error).message}`, { cause: e });
  }
  return new RedisCounterStore(redis, prefix);
}
