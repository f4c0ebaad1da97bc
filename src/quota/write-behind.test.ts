import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSchema, quotasSchema } from '../config/schema.js';
import { silentLogger } from '../core/logger.js';
import { openStore } from '../store/index.js';
import type { CounterStore, Store } from '../store/types.js';
import { createQuotaManager, QuotaExceededError } from './index.js';
import { WriteBehindCounters } from './write-behind.js';

const log = silentLogger();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-quota-wb-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The real store's counters, counting calls. */
function counting(s: Store): { counters: CounterStore; calls: () => number } {
  let n = 0;
  const c = s.counters;
  return {
    counters: {
      takeTokens: (...a) => (n++, c.takeTokens(...a)),
      addToWindow: (...a) => (n++, c.addToWindow(...a)),
      getWindow: (...a) => (n++, c.getWindow(...a)),
    },
    calls: () => n,
  };
}

describe('write-behind quota counters (embedded store)', () => {
  it('gives the same bucket answers as the store, with one store call per key until a flush', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const { counters, calls } = counting(store);
    const wb = new WriteBehindCounters(counters, { flushMs: 60_000 });
    const t = 1_800_000_000_000;
    const seq: [number, number][] = [[0, 1], [0, 1], [0, 1], [0, 1], [500, 1], [1000, 1], [1000, 2], [5000, 3], [5000, 1]];
    for (const [dt, cost] of seq) {
      const a = await wb.takeTokens('k', 3, 1 / 1000, cost, t + dt);
      const b = await store.counters.takeTokens('ref', 3, 1 / 1000, cost, t + dt);
      expect(a).toEqual(b);
    }
    expect(calls()).toBe(1);
    await wb.close();
    await store.close();
  });

  it('persists consumption and token usage on flush, and a new instance starts from the store', async () => {
    const path = join(dir, 'wb.db');
    const t = Date.now();
    let store = await openStore({ type: 'sqlite', path }, log);
    let wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    for (let i = 0; i < 5; i++) expect((await wb.takeTokens('b', 5, 1e-9, 1, t)).allowed).toBe(true);
    expect((await wb.takeTokens('b', 5, 1e-9, 1, t)).allowed).toBe(false);
    await wb.addToWindow('w', 60_000, 700, t);
    expect(await store.counters.getWindow('w', 60_000, t)).toBe(0); // not yet written
    await wb.close();
    expect(await store.counters.getWindow('w', 60_000, t)).toBe(700);
    await store.close();

    store = await openStore({ type: 'sqlite', path }, log);
    wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    expect((await wb.takeTokens('b', 5, 1e-9, 1, t + 1)).allowed).toBe(false);
    expect(await wb.getWindow('w', 60_000, t)).toBe(700);
    expect(await wb.addToWindow('w', 60_000, 1, t)).toBe(701);
    await wb.close();
    await store.close();
  });

  it('admits no more than the store would when concurrent first requests race', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    const t = 1_800_000_000_000;
    const results = await Promise.all(Array.from({ length: 20 }, () => wb.takeTokens('race', 10, 1e-9, 1, t)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    await wb.close();
    await store.close();
  });

  it('merges usage written by another process sharing the store, and keeps pending work when the store fails', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const t = Date.now();
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    await wb.addToWindow('m', 60_000, 10, t);
    await store.counters.addToWindow('m', 60_000, 100, t); // "another gateway"
    await wb.flush();
    expect(await wb.getWindow('m', 60_000, t)).toBe(110);

    let fail = true;
    const flaky: CounterStore = {
      takeTokens: (...a) => (fail ? Promise.reject(new Error('down')) : store.counters.takeTokens(...a)),
      addToWindow: (...a) => (fail ? Promise.reject(new Error('down')) : store.counters.addToWindow(...a)),
      getWindow: (...a) => store.counters.getWindow(...a),
    };
    const wb2 = new WriteBehindCounters(flaky, { flushMs: 60_000 });
    await wb2.getWindow('f', 60_000, t);
    await wb2.addToWindow('f', 60_000, 5, t);
    await wb2.flush();
    expect(await store.counters.getWindow('f', 60_000, t)).toBe(0);
    fail = false;
    await wb2.close();
    expect(await store.counters.getWindow('f', 60_000, t)).toBe(5);
    await wb.close();
    await store.close();
  });

  it('keeps the quota manager exact: burst, refusal and token windows', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    let now = 1_800_000_000_000;
    const models = [modelSchema.parse({ name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' } })];
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60, burst: 2, tokensPerMinute: 100 } }), models, wb, { now: () => now });
    (await q.acquire({ principal: 'a', model: 'chat', countsTokens: true })).release({ promptTokens: 60, completionTokens: 40, totalTokens: 100 });
    await new Promise((r) => setImmediate(r));
    await expect(q.acquire({ principal: 'a', model: 'chat', countsTokens: true })).rejects.toBeInstanceOf(QuotaExceededError);
    now += 60_000;
    (await q.acquire({ principal: 'a', model: 'chat', countsTokens: true })).release();
    (await q.acquire({ principal: 'a', model: 'chat', countsTokens: true })).release();
    const e = await q.acquire({ principal: 'a', model: 'chat', countsTokens: true }).catch((x: unknown) => x);
    expect((e as QuotaExceededError).limit).toBe('requestsPerMinute');
    await wb.close();
    await store.close();
  });

  it('takes each token once when the in-memory fast path must fall back to the store for a new key', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    const now = 1_800_000_000_000;
    const models = ['a', 'b', 'c'].map((name) => modelSchema.parse({ name, protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' }, quotas: { requestsPerMinute: 600, burst: 100 } }));
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60, burst: 3 } }), models, wb, { now: () => now });
    // Each model's bucket is new while the principal's is already in memory after the first call.
    for (const model of ['a', 'b', 'c']) (await q.acquire({ principal: 'p', model, countsTokens: false })).release();
    const e = await q.acquire({ principal: 'p', model: 'a', countsTokens: false }).catch((x: unknown) => x);
    expect((e as QuotaExceededError).limit).toBe('requestsPerMinute');
    expect((e as QuotaExceededError).scope).toBe('principal');
    expect(wb.takeTokensSync('rpm:m:a', 100, 600 / 60_000, 0, now)?.remaining).toBe(99);
    await wb.close();
    await store.close();
  });
});

describe('admissions reserved ahead (acquireMany, for gateway workers)', () => {
  const now = 1_800_000_000_000;
  const models = [modelSchema.parse({ name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' } })];

  it('reserves from a large limit, never from a small one, and refunds what is cancelled', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    const quotas = quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 60_000, burst: 1000, concurrent: 500 }, principals: { small: { requestsPerMinute: 100, concurrent: 50 } } });
    const q = createQuotaManager(quotas, models, wb, { now: () => now });
    const many = await q.acquireMany!({ principal: 'big', model: 'chat', countsTokens: false }, 32);
    expect(many).toHaveLength(32);
    expect(wb.takeTokensSync('rpm:p:big', 1000, 1, 0, now)?.remaining).toBe(1000 - 32);
    expect(q.inFlightCount('principal', 'big')).toBe(32);
    for (const l of many.slice(1)) l.cancel!();
    expect(wb.takeTokensSync('rpm:p:big', 1000, 1, 0, now)?.remaining).toBe(1000 - 1);
    expect(q.inFlightCount('principal', 'big')).toBe(1);
    // Below MIN_ROOM (128) of room nothing is reserved ahead: small limits stay exact.
    await q.acquire({ principal: 'small', model: 'chat', countsTokens: false });
    expect(await q.acquireMany!({ principal: 'small', model: 'chat', countsTokens: false }, 32)).toHaveLength(1);
    // A cancelled lease is done: releasing it afterwards changes nothing.
    many[1]!.release();
    expect(q.inFlightCount('principal', 'big')).toBe(1);
    await wb.close();
    await store.close();
  });

  it('stops reserving when a token window is half used', async () => {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, log);
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    const q = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { tokensPerMinute: 1000 } }), models, wb, { now: () => now });
    const req = { principal: 'a', model: 'chat', countsTokens: true };
    (await q.acquire(req)).release({ promptTokens: 100, completionTokens: 0, totalTokens: 100 });
    const some = await q.acquireMany!(req, 8);
    expect(some).toHaveLength(8);
    for (const l of some) l.release({ promptTokens: 50, completionTokens: 0, totalTokens: 50 });
    expect(await q.acquireMany!(req, 8)).toHaveLength(1);
    await wb.close();
    await store.close();
  });
});
