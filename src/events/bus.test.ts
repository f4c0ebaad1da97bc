// The bus never blocks or throws at publishers: bounded queue with a drop counter, subscribers run
// later and in order, a failing subscriber does not stop the others; persistence and retention.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import { EventBus } from './bus.js';
import { persistEvents } from './persist.js';
import { eventsFromAudit, isEvent, makeEvent, type RampartEvent } from './schema.js';
import { tapAuditLog } from './audit-tap.js';
import type { AuditRecord } from '../core/contracts.js';

const ev = (i: number): RampartEvent => makeEvent({ type: 'gateway.request', source: 'test', id: `e${i}`, time: 1_000 + i, data: { i } });

describe('EventBus', () => {
  it('delivers asynchronously, in order, in batches, to every subscriber', async () => {
    const bus = new EventBus({ maxBatch: 7 });
    const a: string[] = [];
    const b: string[] = [];
    bus.subscribe('a', (es) => void a.push(...es.map((e) => e.id)));
    bus.subscribe('b', async (es) => {
      await new Promise((r) => setTimeout(r, 1));
      b.push(...es.map((e) => e.id));
    });
    for (let i = 0; i < 50; i++) bus.publish(ev(i));
    expect(a).toEqual([]);
    await bus.flush();
    const want = Array.from({ length: 50 }, (_, i) => `e${i}`);
    expect(a).toEqual(want);
    expect(b).toEqual(want);
    expect(bus.getStats()).toMatchObject({ published: 50, delivered: 50, dropped: 0, queued: 0 });
  });

  it('drops and counts what does not fit instead of blocking a slow subscriber', async () => {
    let dropped = 0;
    const bus = new EventBus({ capacity: 10, onDrop: (n) => (dropped += n) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    bus.subscribe('slow', async (es) => {
      await gate;
      seen.push(...es.map((e) => e.id));
    });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) bus.publish(ev(i));
    expect(performance.now() - t0).toBeLessThan(200);
    expect(dropped).toBe(990);
    release();
    await bus.flush();
    expect(seen).toHaveLength(10);
    expect(bus.getStats().dropped).toBe(990);
  });

  it('a throwing subscriber is logged and counted; the others still get every event', async () => {
    const bus = new EventBus({ logger: silentLogger() });
    const got: string[] = [];
    bus.subscribe('bad', () => {
      throw new Error('boom');
    });
    bus.subscribe('good', (es) => void got.push(...es.map((e) => e.id)));
    bus.publish(ev(1), ev(2));
    await bus.flush();
    expect(got).toEqual(['e1', 'e2']);
    expect(bus.getStats().handlerErrors).toBe(1);
  });

  it('after close, publishing is refused and counted, not thrown', async () => {
    const bus = new EventBus();
    await bus.close();
    expect(bus.publish(ev(1))).toBe(0);
    expect(bus.getStats().dropped).toBe(1);
  });
});

describe('event schema', () => {
  const rec = (over: Partial<AuditRecord>): AuditRecord => ({
    id: 'r1',
    time: '2026-11-28T10:00:00.000Z',
    principal: 'alice',
    authMethod: 'api-key',
    model: 'm',
    action: 'invoke',
    route: 'openai.chat.completions',
    method: 'POST',
    path: '/v1/chat/completions',
    sourceIp: '10.0.0.1',
    decision: 'allow',
    policyIds: [],
    errorCode: null,
    status: 200,
    latencyMs: 12,
    upstreamMs: 10,
    bytesIn: 100,
    bytesOut: 2000,
    usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    ...over,
  });

  it('maps audit records to gateway.request plus the refusal event', () => {
    const ok = eventsFromAudit(rec({}));
    expect(ok.map((e) => e.type)).toEqual(['gateway.request']);
    expect(ok[0]).toMatchObject({ schema: 'rampart.event/v1', id: 'req:r1', time: Date.parse('2026-11-28T10:00:00.000Z'), principal: 'alice', model: 'm', sourceIp: '10.0.0.1' });
    expect(ok[0]!.data).toMatchObject({ bytesOut: 2000, totalTokens: 3, status: 200 });
    expect(isEvent(JSON.parse(JSON.stringify(ok[0])))).toBe(true);
    expect(eventsFromAudit(rec({ principal: null, decision: 'deny', status: 401, errorCode: 'RAMPART_ERR_AUTH_INVALID' }))[1]).toMatchObject({ type: 'auth.failure' });
    expect(eventsFromAudit(rec({ decision: 'deny', status: 403, errorCode: 'RAMPART_ERR_POLICY_DENIED' }))[1]).toMatchObject({ type: 'authz.deny' });
    expect(eventsFromAudit(rec({ decision: 'deny', status: 429, errorCode: 'RAMPART_ERR_QUOTA_EXCEEDED' }))[1]).toMatchObject({ type: 'quota.exceeded' });
  });

  it('isEvent rejects malformed envelopes', () => {
    for (const bad of [null, 1, 'x', {}, { ...ev(1), schema: 'rampart.event/v2' }, { ...ev(1), type: 'nope' }, { ...ev(1), time: 'now' }, { ...ev(1), data: [] }]) {
      expect(isEvent(bad)).toBe(false);
    }
  });

  it('tapAuditLog records and publishes', async () => {
    const recorded: AuditRecord[] = [];
    const bus = new EventBus();
    const got: RampartEvent[] = [];
    bus.subscribe('t', (es) => void got.push(...es));
    const log = tapAuditLog({ record: (r) => void recorded.push(r), flush: async () => {}, close: async () => {} }, bus);
    log.record(rec({}));
    await bus.flush();
    expect(recorded).toHaveLength(1);
    expect(got.map((e) => e.id)).toEqual(['req:r1']);
  });
});

describe('persistEvents', () => {
  it('stores bus events and prunes them after the retention', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const bus = new EventBus();
    let now = 10_000;
    const p = persistEvents(bus, store.events, { retentionMs: 5_000, now: () => now });
    bus.publish(...[1, 2, 3].map((i) => makeEvent({ type: 'auth.failure', source: 't', id: `x${i}`, time: i * 3000 })));
    await bus.flush();
    const rows = await store.events.readEvents({ limit: 10 });
    expect(rows.map((r) => r.id)).toEqual(['x1', 'x2', 'x3']);
    expect(isEvent(JSON.parse(rows[0]!.body))).toBe(true);
    now = 11_000;
    expect(await p.prune()).toBe(1);
    p.stop();
    await store.close();
  });
});

describe('recordEvents (processes without a bus)', () => {
  it('stores key operations; a closed store or one without events is not an error', async () => {
    const { recordEvents, keyOperationEvent } = await import('./record.js');
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    expect(await recordEvents(store, keyOperationEvent('create', 'k1', 'alice'))).toBe(true);
    const rows = await store.events.readEvents({ type: 'key.operation', limit: 10 });
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.body)).toMatchObject({ type: 'key.operation', principal: 'alice', data: { operation: 'create', keyId: 'k1' } });
    await store.close();
    expect(await recordEvents(store, keyOperationEvent('revoke', 'k1'))).toBe(false);
    expect(await recordEvents({ ...store, events: undefined } as never, keyOperationEvent('revoke', 'k1'))).toBe(false);
  });
});
