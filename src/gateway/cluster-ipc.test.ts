// The primary's checks on worker messages, and the cache of the aggregated /metrics.
import { describe, expect, it } from 'vitest';
import { modelSchema, quotasSchema } from '../config/schema.js';
import type { QuotaLease } from '../core/contracts.js';
import { silentLogger } from '../core/logger.js';
import { makeEvent } from '../events/schema.js';
import { createQuotaManager, QuotaExceededError, WriteBehindCounters } from '../quota/index.js';
import { openStore } from '../store/index.js';
import { cachedFor, type Op, PrimaryLink, readWorkerMessage, TAG, toWire, type ToPrimary } from './cluster-ipc.js';

const record = {
  id: 'r1', time: new Date(0).toISOString(), principal: 'p', authMethod: 'api-key', model: 'chat', action: 'invoke', route: 'openai.chat.completions', method: 'POST', path: '/v1/chat/completions',
  sourceIp: '127.0.0.1', decision: 'allow', policyIds: ['all'], errorCode: null, status: 200, latencyMs: 3, upstreamMs: 2, bytesIn: 10, bytesOut: 20, usage: null,
};

describe('readWorkerMessage', () => {
  it('refuses operations that are not a list (regression: the primary threw in its message handler)', () => {
    expect(readWorkerMessage({ t: TAG, ops: 5 })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: TAG, ops: { 0: ['flush', 1] } })).toEqual({ msg: null, dropped: 1 });
  });

  it('keeps the well-formed operations of a message and counts the others', () => {
    const ev = makeEvent({ type: 'guard.verdict', source: 'gateway', data: {} });
    const good = [['release', 1, { promptTokens: 1, completionTokens: 2, totalTokens: 3 }], ['release', 2, null], ['metrics', 4], ['events', [ev]], ['reserve', 5, 'alice', 'chat', false, 4], ['unreserve', [6, 7]]];
    const bad = [null, 'x', ['acquire'], ['acquire', 1, {}, 'chat', true], ['acquire', 0, 'a', 'b', false], ['release', 'a', null], ['release', 1, { totalTokens: 'x' }], ['metrics', 1.5],
      ['events', 'no'], ['events', [null]], ['events', [{ ...ev, type: 'made.up' }]], ['unknown', 1],
      // One admission at a time is a `reserve` of one now; the old `acquire` is not an operation any more.
      ['acquire', 1, 'alice', 'chat', true],
      ['reserve', 5, 'a', 'chat', false, 0], ['reserve', 5, 'a', 'chat', false, 33], ['reserve', 5, 'a', 'chat', 'no', 2], ['unreserve', [0]], ['unreserve', 'x'], ['unreserve', Array.from({ length: 200 }, (_, i) => i + 1)],
      // Audit records are no longer sent to the primary (each worker chains its own).
      ['record', record], ['flush', 3]];
    const r = readWorkerMessage({ t: TAG, ops: [...bad.slice(0, 7), ...good, ...bad.slice(7)] });
    expect(r.dropped).toBe(bad.length);
    expect(r.msg).toEqual({ t: TAG, ops: good });
  });

  it('checks the other messages, and ignores messages of other protocols', () => {
    expect(readWorkerMessage({ t: TAG, metricsRes: 'a', data: [] })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: TAG, metricsRes: 7, data: [] }).msg).toEqual({ t: TAG, metricsRes: 7, data: [] });
    expect(readWorkerMessage({ t: TAG, ready: true }).msg).toEqual({ t: TAG, ready: true });
    expect(readWorkerMessage({ t: TAG, startError: { x: 1 } }).msg).toEqual({ t: TAG, startError: 'unknown error' });
    expect(readWorkerMessage({ t: TAG, nothing: 1 })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: 'other', ops: 5 })).toEqual({ msg: null, dropped: 0 });
    expect(readWorkerMessage(null)).toEqual({ msg: null, dropped: 0 });
  });
});

describe('cachedFor', () => {
  it('reuses a result for the given time, shares the call in flight, and never keeps a failure', async () => {
    let clock = 0;
    let calls = 0;
    let fail = false;
    const get = cachedFor(
      1000,
      async () => {
        calls++;
        if (fail) throw new Error('down');
        return calls;
      },
      () => clock,
    );
    const [a, b] = await Promise.all([get(), get()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    clock = 999;
    expect(await get()).toBe(1);
    clock = 1000;
    expect(await get()).toBe(2);
    clock = 3000;
    fail = true;
    await expect(get()).rejects.toThrow('down');
    fail = false;
    expect(await get()).toBe(4);
    expect(calls).toBe(4);
  });
});

describe('PrimaryLink quota reservations', () => {
  /** A worker's link wired to a primary-side quota manager over the real message checks. */
  async function setup(quotas: unknown) {
    const store = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
    const wb = new WriteBehindCounters(store.counters, { flushMs: 60_000 });
    const models = [modelSchema.parse({ name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' } })];
    const now = 1_800_000_000_000;
    const q = createQuotaManager(quotasSchema.parse(quotas), models, wb, { now: () => now });
    const leases = new Map<number, QuotaLease>();
    const seen: Op[] = [];
    const onOp = async (op: Op): Promise<void> => {
      seen.push(op);
      if (op[0] === 'reserve') {
        const [, id, principal, model, countsTokens, want] = op;
        try {
          const got = await q.acquireMany!({ principal, model, countsTokens }, want);
          got.forEach((l, j) => leases.set(id + j, l));
          link.onAnswers([[id, true, got.length]]);
        } catch (e) {
          link.onAnswers([[id, false, toWire(e)]]);
        }
      } else if (op[0] === 'release') {
        leases.get(op[1])?.release(op[2]);
        leases.delete(op[1]);
      } else if (op[0] === 'unreserve') {
        for (const id of op[1]) {
          leases.get(id)?.cancel?.();
          leases.delete(id);
        }
      }
    };
    const link: PrimaryLink = new PrimaryLink((m: ToPrimary) => {
      const { msg } = readWorkerMessage(JSON.parse(JSON.stringify(m)));
      if (msg && 'ops' in msg) for (const op of msg.ops) void onOp(op);
    });
    const close = async (): Promise<void> => {
      link.disconnect();
      await wb.close();
      await store.close();
    };
    return { link, q, wb, seen, now, close };
  }

  it('reserves ahead with room to spare: far fewer round trips, every token accounted once', async () => {
    const { link, q, wb, seen, now, close } = await setup({ defaultPrincipal: { requestsPerMinute: 60_000, burst: 5000, concurrent: 1000 } });
    const req = { principal: 'alice', model: 'chat', countsTokens: false };
    for (let burst = 0; burst < 10; burst++) {
      const got = await Promise.all(Array.from({ length: 20 }, () => link.quotas.acquire(req)));
      for (const l of got) l.release(null);
    }
    const reserves = seen.filter((o) => o[0] === 'reserve');
    expect(reserves.length).toBeLessThan(60);
    expect(reserves.some((o) => o[5] > 1)).toBe(true);
    // Unused reservations go back after their 25 ms: nothing stays in flight, and exactly the 200
    // admissions used consumed a token.
    await new Promise((r) => setTimeout(r, 120));
    expect(seen.some((o) => o[0] === 'unreserve')).toBe(true);
    expect(q.inFlightCount('principal', 'alice')).toBe(0);
    expect(wb.takeTokensSync('rpm:p:alice', 5000, 1, 0, now)?.remaining).toBe(5000 - 200);
    await close();
  });

  it('stays exact near a small limit: one admission per round trip, the rest refused', async () => {
    const { link, seen, close } = await setup({ defaultPrincipal: { requestsPerMinute: 10 } });
    const req = { principal: 'bob', model: 'chat', countsTokens: false };
    const results = await Promise.allSettled(Array.from({ length: 24 }, () => link.quotas.acquire(req)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(refused).toHaveLength(14);
    expect(refused.every((r) => r.reason instanceof QuotaExceededError)).toBe(true);
    expect(seen.filter((o) => o[0] === 'reserve')).toHaveLength(24);
    await close();
  });
});
