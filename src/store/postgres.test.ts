// The store conformance suite against the real PostgreSQL (counters in PostgreSQL) and
// PostgreSQL + Redis (counters in Redis), each test in its own schema and key prefix; plus two
// store instances ("replicas") sharing one bucket, one window and one audit chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/audit-log.js';
import { sampleRecord } from '../audit/testing/records.js';
import { verifyAudit } from '../audit/verify.js';
import { silentLogger } from '../core/logger.js';
import { openStore } from './index.js';
import type { PostgresStore } from './postgres.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { runStoreConformance } from './store.case.js';
import { dropNamespace, newNamespace, openTestPgStore, PG_URL, reusableTestPgFactory, serversAvailable, type TestNamespace } from './testing/servers.js';
import type { Store } from './types.js';

const available = await serversAvailable();
if (!available) console.warn('PostgreSQL or Redis not reachable: skipping the server-backed store tests');

describe.runIf(available)('server-backed store', () => {
  const pgOnly = reusableTestPgFactory(false);
  const pgRedis = reusableTestPgFactory(true);
  afterAll(async () => {
    await pgOnly.drop();
    await pgRedis.drop();
  });
  runStoreConformance('postgres', pgOnly.factory);
  runStoreConformance('postgres + redis', pgRedis.factory);

  for (const redis of [false, true]) {
    describe(`two replicas, ${redis ? 'counters in Redis' : 'counters in PostgreSQL'}`, () => {
      let ns: TestNamespace;
      let a: PostgresStore;
      let b: PostgresStore;
      beforeAll(async () => {
        ns = newNamespace();
        a = await openTestPgStore({ redis, ns });
        b = await openTestPgStore({ redis, ns });
      });
      afterAll(async () => {
        await a.close();
        await b.close();
        await dropNamespace(ns);
      });

      it('hammering one token bucket never over-admits', async () => {
        const takes: Promise<{ allowed: boolean }>[] = [];
        for (let i = 0; i < 120; i++) takes.push((i % 2 ? a : b).counters.takeTokens('shared-bucket', 37, 1e-9, 1, 1_000_000));
        const results = await Promise.all(takes);
        expect(results.filter((r) => r.allowed)).toHaveLength(37);
        expect((await a.counters.takeTokens('shared-bucket', 37, 1e-9, 1, 1_000_000)).allowed).toBe(false);
      });

      it('adds to one window from both without losing any', async () => {
        await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).counters.addToWindow('shared-window', 60_000, 3, 120_000)));
        expect(await a.counters.getWindow('shared-window', 60_000, 125_000)).toBe(180);
      });

      it('keys written by one are seen by the other', async () => {
        await a.keys.insertApiKey({
          id: `k-${redis}`,
          principal: 'p',
          kind: 'service',
          roles: ['r'],
          secretHash: 'e'.repeat(64),
          description: 'x',
          createdAt: 1,
          expiresAt: null,
          revokedAt: null,
        });
        expect(await b.keys.revokeApiKey(`k-${redis}`, 2)).toBe(true);
        expect((await a.keys.getApiKey(`k-${redis}`))!.revokedAt).toBe(2);
      });

      it.runIf(!redis)('two audit writers build one valid chain', async () => {
        const cfg = { includeBodies: false, checkpointEvery: 25, flushEvery: 9 };
        const la = createAuditLog(a.audit, cfg, silentLogger(), { flushIntervalMs: 1 });
        const lb = createAuditLog(b.audit, cfg, silentLogger(), { flushIntervalMs: 1 });
        for (let i = 0; i < 150; i++) {
          la.record(sampleRecord(i, { id: `a-${i}` }));
          lb.record(sampleRecord(i, { id: `b-${i}` }));
          if (i % 25 === 0) await new Promise((r) => setTimeout(r, 3));
        }
        await Promise.all([la.close(), lb.close()]);
        const r = await verifyAudit(a.audit);
        expect(r).toMatchObject({ ok: true, checked: 300 });
      });
    });
  }

  describe('opening', () => {
    it('a second open of the same schema applies no migration twice', async () => {
      const ns = newNamespace();
      const s1 = await openTestPgStore({ redis: false, ns });
      const s2 = await openTestPgStore({ redis: false, ns });
      const { rows } = await s1.pool.query('SELECT COUNT(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).toBe(POSTGRES_MIGRATIONS.length);
      await s1.close();
      await s2.close();
      await dropNamespace(ns);
    });

    it('reports an unreachable server with a coded error and no password', async () => {
      const err = await openStore({ type: 'postgres', url: 'postgres://u:hunter2@127.0.0.1:1/test' }, silentLogger()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'RAMPART_ERR_STORE_OPEN' });
      expect(String((err as Error).message)).not.toContain('hunter2');
      const ns = newNamespace();
      const err2 = await openStore({ type: 'postgres', url: PG_URL, redisUrl: 'redis://127.0.0.1:1' }, silentLogger(), {
        pgSchema: ns.schema,
      }).catch((e: unknown) => e);
      await dropNamespace(ns);
      expect(err2).toMatchObject({ code: 'RAMPART_ERR_STORE_OPEN' });
    });

    it('refuses an unsafe schema name', async () => {
      await expect(openStore({ type: 'postgres', url: PG_URL }, silentLogger(), { pgSchema: 'x; DROP TABLE y' })).rejects.toMatchObject({
        code: 'RAMPART_ERR_STORE_OPEN',
      });
    });
  });
});

export type { Store };
