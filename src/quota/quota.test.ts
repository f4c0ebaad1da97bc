import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSchema, quotasSchema } from '../config/schema.js';
import { silentLogger } from '../core/logger.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createQuotaManager, QuotaExceededError, WriteBehindCounters } from './index.js';

let store: Store;
beforeAll(async () => {
  store = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
});
afterAll(async () => {
  await store.close();
});

const models = [
  modelSchema.parse({ name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' }, quotas: { tokensPerMinute: 1000, concurrent: 3 } }),
  modelSchema.parse({ name: 'free', protocol: 'generic', upstream: { url: 'http://127.0.0.1:2' } }),
  modelSchema.parse({ name: 'rare', protocol: 'generic', upstream: { url: 'http://127.0.0.1:3' }, quotas: { requestsPerMinute: 2 } }),
];

async function refusal(p: Promise<unknown>): Promise<QuotaExceededError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(QuotaExceededError);
    expect((e as QuotaExceededError).code).toBe('RAMPART_ERR_QUOTA_EXCEEDED');
    return e as QuotaExceededError;
  }
  throw new Error('expected a quota refusal');
}

describe('quotas', () => {
  it('costs nothing and never refuses without limits', async () => {
    const q = createQuotaManager(quotasSchema.parse({}), models, store.counters);
    for (let i = 0; i < 100; i++) (await q.acquire({ principal: 'p0', model: 'free', countsTokens: true })).release({ promptTokens: 1, completionTokens: 1, totalTokens: 2 });
  });

  it('enforces requests per minute as a token bucket with burst, refilling over time', async () => {
    let now = 1_800_000_000_000;
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60, burst: 3 } }), models, store.counters, { now: () => now });
    for (let i = 0; i < 3; i++) (await q.acquire({ principal: 'p1', model: 'free', countsTokens: false })).release();
    const e = await refusal(q.acquire({ principal: 'p1', model: 'free', countsTokens: false }));
    expect(e.limit).toBe('requestsPerMinute');
    expect(e.scope).toBe('principal');
    expect(e.retryAfterSeconds).toBe(1); // one token per second
    // Another principal has its own bucket.
    (await q.acquire({ principal: 'p2', model: 'free', countsTokens: false })).release();
    now += 1000;
    (await q.acquire({ principal: 'p1', model: 'free', countsTokens: false })).release();
    await refusal(q.acquire({ principal: 'p1', model: 'free', countsTokens: false }));
    now += 10_000; // refills to the burst size, not beyond
    for (let i = 0; i < 3; i++) (await q.acquire({ principal: 'p1', model: 'free', countsTokens: false })).release();
    await refusal(q.acquire({ principal: 'p1', model: 'free', countsTokens: false }));
  });

  it('applies per-principal overrides over the defaults and per-model limits over all callers', async () => {
    let now = 1_800_000_100_000;
    const q = createQuotaManager(
      quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 1 }, principals: { vip: { requestsPerMinute: 600 } } }),
      models,
      store.counters,
      { now: () => now },
    );
    (await q.acquire({ principal: 'plain', model: 'free', countsTokens: false })).release();
    const e = await refusal(q.acquire({ principal: 'plain', model: 'free', countsTokens: false }));
    expect(e.retryAfterSeconds).toBe(60);
    for (let i = 0; i < 50; i++) (await q.acquire({ principal: 'vip', model: 'free', countsTokens: false })).release();
    // Model "rare" allows 2 requests a minute whoever calls.
    (await q.acquire({ principal: 'vip', model: 'rare', countsTokens: false })).release();
    (await q.acquire({ principal: 'vip', model: 'rare', countsTokens: false })).release();
    const m = await refusal(q.acquire({ principal: 'vip', model: 'rare', countsTokens: false }));
    expect(m.scope).toBe('model');
    expect(m.retryAfterSeconds).toBe(30);
    now += 30_000;
    (await q.acquire({ principal: 'vip', model: 'rare', countsTokens: false })).release();
  });

  it('limits concurrent requests and frees the slot on release (once)', async () => {
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { concurrent: 2 } }), models, store.counters);
    const a = await q.acquire({ principal: 'c1', model: 'free', countsTokens: false });
    const b = await q.acquire({ principal: 'c1', model: 'free', countsTokens: false });
    const e = await refusal(q.acquire({ principal: 'c1', model: 'free', countsTokens: false }));
    expect(e.limit).toBe('concurrent');
    expect(e.retryAfterSeconds).toBe(1);
    expect(q.inFlightCount('principal', 'c1')).toBe(2);
    a.release();
    a.release(); // double release must not free a second slot
    expect(q.inFlightCount('principal', 'c1')).toBe(1);
    const c = await q.acquire({ principal: 'c1', model: 'free', countsTokens: false });
    await refusal(q.acquire({ principal: 'c1', model: 'free', countsTokens: false }));
    b.release();
    c.release();
    expect(q.inFlightCount('principal', 'c1')).toBe(0);
  });

  it('gives back concurrency slots when a later check refuses', async () => {
    const now = 1_800_000_200_000;
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { concurrent: 5 } }), models, store.counters, { now: () => now });
    (await q.acquire({ principal: 'd1', model: 'rare', countsTokens: false })).release();
    (await q.acquire({ principal: 'd1', model: 'rare', countsTokens: false })).release();
    await refusal(q.acquire({ principal: 'd1', model: 'rare', countsTokens: false }));
    expect(q.inFlightCount('principal', 'd1')).toBe(0);
  });

  it('counts tokens from usage per minute and per day and refuses once a window is used up', async () => {
    let now = Date.UTC(2027, 0, 5, 12, 0, 10);
    const q = createQuotaManager(
      quotasSchema.parse({ defaultPrincipal: { tokensPerMinute: 500, tokensPerDay: 1200 } }),
      models,
      store.counters,
      { now: () => now },
    );
    const use = (n: number) => ({ promptTokens: n - 1, completionTokens: 1, totalTokens: n });
    const settle = () => new Promise((r) => setTimeout(r, 5));
    const l1 = await q.acquire({ principal: 't1', model: 'free', countsTokens: true });
    l1.release(use(499));
    await settle();
    // 499 < 500: still admitted; the request that crosses the limit is not cut off.
    (await q.acquire({ principal: 't1', model: 'free', countsTokens: true })).release(use(100));
    await settle();
    const e = await refusal(q.acquire({ principal: 't1', model: 'free', countsTokens: true }));
    expect(e.limit).toBe('tokensPerMinute');
    expect(e.retryAfterSeconds).toBe(50); // the minute window ends at 12:01:00
    // Non-LLM routes do not check token budgets.
    (await q.acquire({ principal: 't1', model: 'free', countsTokens: false })).release();
    now += 60_000;
    (await q.acquire({ principal: 't1', model: 'free', countsTokens: true })).release(use(500));
    await settle();
    now += 60_000;
    (await q.acquire({ principal: 't1', model: 'free', countsTokens: true })).release(use(200));
    await settle();
    now += 60_000;
    const d = await refusal(q.acquire({ principal: 't1', model: 'free', countsTokens: true }));
    expect(d.limit).toBe('tokensPerDay');
    expect(d.retryAfterSeconds).toBe(12 * 3600 - 3 * 60 - 10);
    now = Date.UTC(2027, 0, 6, 0, 0, 1);
    (await q.acquire({ principal: 't1', model: 'free', countsTokens: true })).release(null);
  });

  it('counts the model token budget over all callers', async () => {
    const now = Date.UTC(2027, 0, 7, 9, 0, 0);
    const q = createQuotaManager(quotasSchema.parse({}), models, store.counters, { now: () => now });
    (await q.acquire({ principal: 'u1', model: 'chat', countsTokens: true })).release({ promptTokens: 600, completionTokens: 400, totalTokens: 1000 });
    await new Promise((r) => setTimeout(r, 5));
    const e = await refusal(q.acquire({ principal: 'u2', model: 'chat', countsTokens: true }));
    expect(e).toMatchObject({ limit: 'tokensPerMinute', scope: 'model' });
    // Garbage usage is ignored rather than corrupting the counters.
    const q2 = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { tokensPerMinute: 10 } }), models, store.counters, { now: () => now });
    (await q2.acquire({ principal: 'u3', model: 'free', countsTokens: true })).release({ promptTokens: NaN, completionTokens: -1, totalTokens: -50 });
    (await q2.acquire({ principal: 'u3', model: 'free', countsTokens: true })).release({ promptTokens: 0, completionTokens: 0, totalTokens: Number.POSITIVE_INFINITY });
    await new Promise((r) => setTimeout(r, 5));
    (await q2.acquire({ principal: 'u3', model: 'free', countsTokens: true })).release();
  });

  it('shares request buckets between two managers on the same store (two replicas)', async () => {
    const now = 1_800_000_300_000;
    const cfg = quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 4 } });
    const r1 = createQuotaManager(cfg, models, store.counters, { now: () => now });
    const r2 = createQuotaManager(cfg, models, store.counters, { now: () => now });
    for (let i = 0; i < 2; i++) {
      (await r1.acquire({ principal: 'shared', model: 'free', countsTokens: false })).release();
      (await r2.acquire({ principal: 'shared', model: 'free', countsTokens: false })).release();
    }
    await refusal(r1.acquire({ principal: 'shared', model: 'free', countsTokens: false }));
    await refusal(r2.acquire({ principal: 'shared', model: 'free', countsTokens: false }));
  });
});

describe('quotas across replicas on Redis counters', async () => {
  const { serversAvailable, newNamespace, openTestPgStore, dropNamespace } = await import('../store/testing/servers.js');
  const available = await serversAvailable();
  it.runIf(available)('two gateway replicas never admit more than the shared request and token budgets', async () => {
    const ns = newNamespace();
    const a = await openTestPgStore({ redis: true, ns });
    const b = await openTestPgStore({ redis: true, ns });
    try {
      const now = Date.UTC(2027, 1, 1, 10, 0, 5);
      const cfg = quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 30, burst: 25, tokensPerMinute: 100 } });
      const q1 = createQuotaManager(cfg, models, a.counters, { now: () => now });
      const q2 = createQuotaManager(cfg, models, b.counters, { now: () => now });
      const attempts = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? q1 : q2).acquire({ principal: 'replicated', model: 'free', countsTokens: false })),
      );
      const admitted = attempts.filter((r) => r.status === 'fulfilled');
      expect(admitted).toHaveLength(25);
      expect(attempts.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof QuotaExceededError)).toBe(true);
      for (const r of admitted) (r as PromiseFulfilledResult<{ release(): void }>).value.release();
      // Usage recorded on one replica closes the token budget on the other.
      (await q1.acquire({ principal: 'tok', model: 'free', countsTokens: true })).release({ promptTokens: 60, completionTokens: 40, totalTokens: 100 });
      // release() records usage without blocking the request; wait until the write has landed.
      for (let i = 0; i < 100 && (await b.counters.getWindow('tpm:p:tok', 60_000, now)) < 100; i++) await new Promise((r) => setTimeout(r, 20));
      const e = await q2.acquire({ principal: 'tok', model: 'free', countsTokens: true }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toMatchObject({ code: 'RAMPART_ERR_QUOTA_EXCEEDED', limit: 'tokensPerMinute', retryAfterSeconds: 55 });
    } finally {
      await a.close();
      await b.close();
      await dropNamespace(ns);
    }
  });
});

describe('tryAcquireSync', () => {
  it('decides without a promise once the counters are in memory, exactly as acquire() would', async () => {
    const s = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
    const counters = new WriteBehindCounters(s.counters, { flushMs: 60_000 });
    let now = 1_800_000_000_000;
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60, burst: 3, concurrent: 2 } }), models, counters, { now: () => now });
    // No limits at all: a lease at once.
    const free = createQuotaManager(quotasSchema.parse({}), models, s.counters);
    expect(free.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })).toBeDefined();
    // The bucket is not in memory yet: only acquire() can decide, and nothing was consumed.
    expect(q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })).toBeUndefined();
    const first = await q.acquire({ principal: 'p', model: 'free', countsTokens: false });
    const second = q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })!;
    expect(second).toBeDefined();
    // The concurrency limit (2) refuses the third while two are held; release frees a slot.
    expect(() => q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })).toThrowError(QuotaExceededError);
    first.release();
    second.release();
    // Two of the burst of 3 are spent; the refused request took none: one is left, then none.
    q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })!.release();
    let e: unknown = null;
    try {
      q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(QuotaExceededError);
    expect((e as QuotaExceededError).limit).toBe('requestsPerMinute');
    now += 1000;
    q.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })!.release();
    // Counters without synchronous reads (the store's own) never answer synchronously.
    const direct = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60 } }), models, s.counters, { now: () => now });
    await direct.acquire({ principal: 'p', model: 'free', countsTokens: false });
    expect(direct.tryAcquireSync!({ principal: 'p', model: 'free', countsTokens: false })).toBeUndefined();
    await counters.close();
    await s.close();
  });
});
