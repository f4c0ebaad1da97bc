// Test helpers for the server-backed store: the PostgreSQL and Redis of the test environment
// (overridable with RAMPART_TEST_PG_URL / RAMPART_TEST_REDIS_URL), and stores in a schema and
// key prefix unique to one test, removed again on close. (src/**/testing/** is not in dist.)
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { silentLogger } from '../../core/logger.js';
import { openStore } from '../index.js';
import type { PostgresStore } from '../postgres.js';

export const PG_URL = process.env.RAMPART_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.RAMPART_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when both servers answer; with RAMPART_TEST_REQUIRE_SERVERS=1 a missing server fails instead. */
export async function serversAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    await redis.connect();
    await redis.ping();
    return true;
  } catch (e) {
    if (process.env.RAMPART_TEST_REQUIRE_SERVERS === '1') throw e;
    return false;
  } finally {
    await client.end().catch(() => undefined);
    redis.disconnect();
  }
}

export interface TestNamespace {
  schema: string;
  prefix: string;
}

export function newNamespace(): TestNamespace {
  const schema = `rampart_t_${process.pid}_${randomBytes(5).toString('hex')}`;
  return { schema, prefix: `rampart-test:${schema}:` };
}

/** Drops the schema and deletes the Redis keys of a namespace. */
export async function dropNamespace(ns: TestNamespace): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${ns.schema} CASCADE`);
  } finally {
    await client.end();
  }
  await deleteRedisKeys(ns.prefix);
}

/** Opens a store in `ns` (a fresh namespace unless given). Its close() drops the namespace when `owner`. */
export async function openTestPgStore(opts: { redis: boolean; ns?: TestNamespace; owner?: boolean }): Promise<PostgresStore> {
  const ns = opts.ns ?? newNamespace();
  const store = (await openStore(
    { type: 'postgres', url: PG_URL, ...(opts.redis ? { redisUrl: REDIS_URL } : {}) },
    silentLogger(),
    { pgSchema: ns.schema, redisPrefix: ns.prefix },
  )) as PostgresStore;
  if (opts.owner ?? !opts.ns) {
    const close = store.close.bind(store);
    let dropped = false;
    store.close = async () => {
      await close();
      if (!dropped) {
        dropped = true;
        await dropNamespace(ns);
      }
    };
  }
  return store;
}

/**
 * A store factory for the conformance suite: one namespace for the whole suite (creating a schema
 * per test is slow), emptied before each store is handed out. Call `drop()` after the suite.
 */
export function reusableTestPgFactory(redis: boolean): { factory: () => Promise<PostgresStore>; drop: () => Promise<void> } {
  const ns = newNamespace();
  return {
    factory: async () => {
      const store = await openTestPgStore({ redis, ns, owner: false });
      await store.pool.query('DELETE FROM api_keys; DELETE FROM audit; DELETE FROM audit_checkpoints; DELETE FROM counter_buckets; DELETE FROM counter_windows; DELETE FROM events; DELETE FROM alerts; DELETE FROM alert_outbox; DELETE FROM guard_state;');
      if (redis) await deleteRedisKeys(ns.prefix);
      return store;
    },
    drop: () => dropNamespace(ns),
  };
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
