// The conformance suite every Store implementation must pass (SQLite, PostgreSQL, PostgreSQL +
// Redis). Each backend's test file calls `runStoreConformance` with a factory; every case gets a
// fresh, empty store and closes it afterwards (the factory's close may also drop test data).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertDelivery, AlertRecord, ApiKeyRecord, AuditEntry, DatasetRecord, Store, StoredEvent } from './types.js';

export type StoreFactory = () => Promise<Store>;

function key(id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id,
    principal: 'alice',
    kind: 'user',
    roles: ['reader', 'ops'],
    secretHash: 'a'.repeat(64),
    description: null,
    createdAt: 1_700_000_000_000,
    expiresAt: null,
    revokedAt: null,
    ...over,
  };
}

function entries(from: number, n: number): AuditEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: from + i,
    time: 1_700_000_000_000 + from + i,
    prevHash: (from + i - 1).toString(16).padStart(64, '0'),
    hash: (from + i).toString(16).padStart(64, '0'),
    body: JSON.stringify({ n: from + i, text: 'héllo "quoted" \u2028' }),
  }));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

export function runStoreConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('keys', () => {
      it('round-trips every field of a key', async () => {
        const k = key('k1', { description: 'ci bot', expiresAt: 1_800_000_000_000, kind: 'service', roles: [] });
        await store.keys.insertApiKey(k);
        expect(await store.keys.getApiKey('k1')).toEqual(k);
        expect(await store.keys.getApiKey('nope')).toBeNull();
      });

      it('refuses a duplicate id with a coded error and keeps the first', async () => {
        await store.keys.insertApiKey(key('dup'));
        expect(await codeOf(store.keys.insertApiKey(key('dup', { principal: 'mallory' })))).toBe('RAMPART_ERR_STORE_DUPLICATE_KEY');
        expect((await store.keys.getApiKey('dup'))!.principal).toBe('alice');
      });

      it('lists keys in creation order', async () => {
        await store.keys.insertApiKey(key('b', { createdAt: 2 }));
        await store.keys.insertApiKey(key('a', { createdAt: 3 }));
        await store.keys.insertApiKey(key('c', { createdAt: 1 }));
        expect((await store.keys.listApiKeys()).map((k) => k.id)).toEqual(['c', 'b', 'a']);
      });

      it('revokes once; unknown and already revoked keys return false', async () => {
        await store.keys.insertApiKey(key('r'));
        expect(await store.keys.revokeApiKey('r', 5)).toBe(true);
        expect(await store.keys.revokeApiKey('r', 6)).toBe(false);
        expect(await store.keys.revokeApiKey('missing', 6)).toBe(false);
        expect((await store.keys.getApiKey('r'))!.revokedAt).toBe(5);
      });
    });

    describe('audit', () => {
      it('is empty at first', async () => {
        expect(await store.audit.lastAudit()).toBeNull();
        expect(await store.audit.readAudit(1, 10)).toEqual([]);
        expect(await store.audit.listCheckpoints()).toEqual([]);
      });

      it('appends in order and reads back exactly, paged', async () => {
        const all = entries(1, 25);
        await store.audit.appendAudit(all.slice(0, 10));
        await store.audit.appendAudit(all.slice(10));
        await store.audit.appendAudit([]);
        expect(await store.audit.lastAudit()).toEqual(all[24]);
        expect(await store.audit.readAudit(1, 100)).toEqual(all);
        expect(await store.audit.readAudit(11, 5)).toEqual(all.slice(10, 15));
        expect(await store.audit.readAudit(26, 5)).toEqual([]);
      });

      it('appends a large batch exactly (several multi-row statements plus single rows), and refuses a gap anywhere in it', async () => {
        const all = entries(1, 101);
        await store.audit.appendAudit(all.slice(0, 1));
        const gap = all.slice(1, 100).map((e) => (e.seq === 70 ? { ...e, seq: 71 } : e));
        expect(await codeOf(store.audit.appendAudit(gap))).toBe('RAMPART_ERR_STORE_AUDIT_CONFLICT');
        expect(await store.audit.lastAudit()).toEqual(all[0]);
        await store.audit.appendAudit(all.slice(1));
        expect(await store.audit.readAudit(1, 200)).toEqual(all);
      });

      it('refuses a batch that does not continue the chain, all or none', async () => {
        await store.audit.appendAudit(entries(1, 3));
        // Replays seq 3 (another writer got there first).
        expect(await codeOf(store.audit.appendAudit(entries(3, 2)))).toBe('RAMPART_ERR_STORE_AUDIT_CONFLICT');
        // Leaves a gap.
        expect(await codeOf(store.audit.appendAudit(entries(5, 1)))).toBe('RAMPART_ERR_STORE_AUDIT_CONFLICT');
        // Not contiguous inside the batch: nothing of it is written.
        const bad = [...entries(4, 2), ...entries(7, 1)];
        expect(await codeOf(store.audit.appendAudit(bad))).toBe('RAMPART_ERR_STORE_AUDIT_CONFLICT');
        expect((await store.audit.lastAudit())!.seq).toBe(3);
        expect(await store.audit.readAudit(1, 10)).toHaveLength(3);
      });

      it('refuses a first batch that does not start at seq 1', async () => {
        expect(await codeOf(store.audit.appendAudit(entries(2, 1)))).toBe('RAMPART_ERR_STORE_AUDIT_CONFLICT');
      });

      it('of two concurrent appenders of the same seq, exactly one wins', async () => {
        await store.audit.appendAudit(entries(1, 1));
        const results = await Promise.allSettled([store.audit.appendAudit(entries(2, 3)), store.audit.appendAudit(entries(2, 3))]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.audit.lastAudit())!.seq).toBe(4);
      });

      it('saves checkpoints idempotently and lists them by seq', async () => {
        await store.audit.saveCheckpoint({ seq: 20, hash: 'b'.repeat(64), time: 2 });
        await store.audit.saveCheckpoint({ seq: 10, hash: 'a'.repeat(64), time: 1 });
        await store.audit.saveCheckpoint({ seq: 10, hash: 'a'.repeat(64), time: 3 });
        expect(await store.audit.listCheckpoints()).toEqual([
          { seq: 10, hash: 'a'.repeat(64), time: 1 },
          { seq: 20, hash: 'b'.repeat(64), time: 2 },
        ]);
      });
    });

    describe('counters', () => {
      it('token bucket starts full, drains, refuses with the time to wait, refills', async () => {
        const c = store.counters;
        const perMs = 1 / 1000; // one token per second
        const t0 = 1_000_000;
        for (let i = 0; i < 3; i++) {
          const r = await c.takeTokens('b', 3, perMs, 1, t0);
          expect(r.allowed).toBe(true);
          expect(r.remaining).toBeCloseTo(2 - i, 6);
        }
        const refused = await c.takeTokens('b', 3, perMs, 1, t0 + 250);
        expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterMs: 750 });
        expect((await c.takeTokens('b', 3, perMs, 1, t0 + 1000)).allowed).toBe(true);
        // A long pause refills to capacity, never beyond.
        const full = await c.takeTokens('b', 3, perMs, 0, t0 + 1_000_000);
        expect(full.allowed).toBe(true);
        expect(full.remaining).toBeCloseTo(3, 6);
      });

      it('token bucket: a clock that goes backwards mints no tokens', async () => {
        const c = store.counters;
        await c.takeTokens('skew', 1, 1 / 1000, 1, 10_000);
        expect((await c.takeTokens('skew', 1, 1 / 1000, 1, 5_000)).allowed).toBe(false);
        expect((await c.takeTokens('skew', 1, 1 / 1000, 1, 10_500)).allowed).toBe(false);
        expect((await c.takeTokens('skew', 1, 1 / 1000, 1, 11_000)).allowed).toBe(true);
      });

      it('token bucket: keys are independent; a cost above what is left is refused', async () => {
        const c = store.counters;
        expect((await c.takeTokens('x', 10, 0.001, 7, 0)).allowed).toBe(true);
        const r = await c.takeTokens('x', 10, 0.001, 7, 0);
        expect(r.allowed).toBe(false);
        expect(r.retryAfterMs).toBe(4000);
        expect((await c.takeTokens('y', 10, 0.001, 7, 0)).allowed).toBe(true);
      });

      it('token bucket: concurrent takes never over-admit', async () => {
        const c = store.counters;
        const results = await Promise.all(Array.from({ length: 40 }, () => c.takeTokens('race', 15, 1e-9, 1, 5_000)));
        expect(results.filter((r) => r.allowed)).toHaveLength(15);
      });

      it('rejects invalid arguments with a coded error', async () => {
        expect(await codeOf(store.counters.takeTokens('', 1, 1, 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(store.counters.takeTokens('k', 0, 1, 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(store.counters.takeTokens('k', 1, Number.NaN, 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(store.counters.addToWindow('k', 0, 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(store.counters.getWindow('k', 1.5, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
      });

      it('fixed windows add up within a window and start again in the next', async () => {
        const c = store.counters;
        const minute = 60_000;
        const t = 10 * minute + 5;
        expect(await c.getWindow('w', minute, t)).toBe(0);
        expect(await c.addToWindow('w', minute, 100, t)).toBe(100);
        expect(await c.addToWindow('w', minute, 23, t + 30_000)).toBe(123);
        expect(await c.getWindow('w', minute, t + 59_000)).toBe(123);
        // Next window.
        expect(await c.getWindow('w', minute, 11 * minute)).toBe(0);
        expect(await c.addToWindow('w', minute, 1, 11 * minute)).toBe(1);
        // Same key, other window length: a separate counter.
        expect(await c.addToWindow('w', 86_400_000, 5, t)).toBe(5);
        expect(await c.getWindow('other', minute, t)).toBe(0);
      });

      it('fixed windows: concurrent adds are all counted', async () => {
        const c = store.counters;
        await Promise.all(Array.from({ length: 50 }, () => c.addToWindow('cw', 60_000, 2, 1_000)));
        expect(await c.getWindow('cw', 60_000, 1_000)).toBe(100);
      });
    });

    describe('monitoring events and alerts (optional members)', () => {
      const alert = (id: string, over: Partial<AlertRecord> = {}): AlertRecord => ({
        id,
        dedupKey: 'burst:alice',
        detector: 'auth-burst',
        severity: 'high',
        status: 'open',
        title: 'Burst of authentication failures',
        details: JSON.stringify({ count: 20 }),
        firstSeen: 1_000,
        lastSeen: 1_000,
        count: 1,
        ackedBy: null,
        ackedAt: null,
        resolvedBy: null,
        resolvedAt: null,
        ...over,
      });

      it('events: append ignores repeated ids, reads filtered in time order, prunes by age', async (t) => {
        if (!store.events) return t.skip();
        const ev = (id: string, time: number, type: string, principal: string | null): StoredEvent => ({ id, time, type, principal, body: JSON.stringify({ id }) });
        await store.events.appendEvents([ev('b', 20, 'auth.failure', null), ev('a', 10, 'gateway.request', 'alice'), ev('c', 30, 'gateway.request', 'bob')]);
        await store.events.appendEvents([ev('a', 10, 'gateway.request', 'alice'), ev('d', 40, 'authz.deny', 'alice')]);
        expect((await store.events.readEvents({ limit: 100 })).map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
        expect(await store.events.readEvents({ type: 'gateway.request', principal: 'alice', limit: 10 })).toEqual([ev('a', 10, 'gateway.request', 'alice')]);
        expect((await store.events.readEvents({ fromTime: 20, toTime: 40, limit: 10 })).map((e) => e.id)).toEqual(['b', 'c']);
        expect(await store.events.pruneEvents(25)).toBe(2);
        expect((await store.events.readEvents({ limit: 10 })).map((e) => e.id)).toEqual(['c', 'd']);
      });

      it('alerts: insert, dedup lookup, touch, lifecycle only forward, list newest first', async (t) => {
        if (!store.alerts) return t.skip();
        const al = store.alerts;
        await al.insertAlert(alert('a1'));
        expect(await codeOf(al.insertAlert(alert('a1')))).toBe('RAMPART_ERR_STORE_DUPLICATE_KEY');
        expect(await al.getAlert('a1')).toEqual(alert('a1'));
        expect((await al.findActiveAlert('burst:alice'))!.id).toBe('a1');
        await al.touchAlert('a1', 2_000, 'critical', '{"count":40}');
        expect(await al.getAlert('a1')).toMatchObject({ count: 2, lastSeen: 2_000, severity: 'critical', details: '{"count":40}' });
        expect(await al.transitionAlert('a1', 'acknowledged', 'ops@x', 3_000)).toMatchObject({ status: 'acknowledged', ackedBy: 'ops@x', ackedAt: 3_000 });
        expect(await al.transitionAlert('a1', 'acknowledged', 'other', 3_500)).toBeNull();
        expect(await al.transitionAlert('a1', 'resolved', 'ops@x', 4_000)).toMatchObject({ status: 'resolved', resolvedBy: 'ops@x', resolvedAt: 4_000, ackedBy: 'ops@x' });
        expect(await al.transitionAlert('a1', 'resolved', 'ops@x', 5_000)).toBeNull();
        expect(await al.transitionAlert('nope', 'resolved', 'ops@x', 5_000)).toBeNull();
        expect(await al.findActiveAlert('burst:alice')).toBeNull();
        await al.insertAlert(alert('a2', { firstSeen: 6_000, lastSeen: 6_000 }));
        expect(await al.transitionAlert('a2', 'resolved', 'bot', 7_000)).toMatchObject({ status: 'resolved', ackedBy: null });
        await al.insertAlert(alert('a3', { firstSeen: 8_000, dedupKey: 'other' }));
        expect((await al.listAlerts({ limit: 10 })).map((a) => a.id)).toEqual(['a3', 'a2', 'a1']);
        expect((await al.listAlerts({ status: 'open', limit: 10 })).map((a) => a.id)).toEqual(['a3']);
        expect((await al.listAlerts({ status: 'resolved', limit: 1 })).map((a) => a.id)).toEqual(['a2']);
      });

      it('alert outbox: due order, retry scheduling, delivered once, prune', async (t) => {
        if (!store.alerts) return t.skip();
        const al = store.alerts;
        const d = (id: string, createdAt: number, sink = 'hook'): AlertDelivery => ({
          id,
          alertId: 'a',
          sink,
          payload: `{"id":"${id}"}`,
          createdAt,
          attempts: 0,
          nextAttemptAt: createdAt,
          deliveredAt: null,
          lastError: null,
        });
        await al.enqueueDeliveries([d('d2', 20), d('d1', 10), d('x', 5, 'slack')]);
        await al.enqueueDeliveries([d('d1', 10)]);
        expect((await al.dueDeliveries('hook', 100, 10)).map((x) => x.id)).toEqual(['d1', 'd2']);
        expect(await al.dueDeliveries('hook', 15, 10)).toEqual([d('d1', 10)]);
        await al.markDeliveryFailed('d1', 1, 500, 'HTTP 503');
        expect((await al.dueDeliveries('hook', 100, 10)).map((x) => x.id)).toEqual(['d2']);
        expect((await al.dueDeliveries('hook', 500, 10))[0]).toMatchObject({ id: 'd1', attempts: 1, lastError: 'HTTP 503' });
        await al.markDelivered('d1', 600);
        await al.markDeliveryFailed('d1', 9, 0, 'late failure report');
        expect((await al.dueDeliveries('hook', 10_000, 10)).map((x) => x.id)).toEqual(['d2']);
        expect(await al.pruneDeliveries(700)).toBe(1);
        expect((await al.dueDeliveries('slack', 10_000, 10)).map((x) => x.id)).toEqual(['x']);
      });
    });

    describe('guard state (optional member)', () => {
      it('compare-and-set: create once, update only from the current version, expire, delete', async (t) => {
        const gs = store.guardState;
        if (!gs) return t.skip();
        expect(await gs.getState('g:alice', 1_000)).toBeNull();
        expect(await gs.casState('g:alice', 0, '{"n":1}', 10_000, 1_000)).toBe(1);
        // Somebody else created it first.
        expect(await gs.casState('g:alice', 0, '{"n":9}', 10_000, 1_000)).toBeNull();
        expect(await gs.getState('g:alice', 2_000)).toEqual({ value: '{"n":1}', version: 1, expiresAt: 10_000 });
        expect(await gs.casState('g:alice', 1, '{"n":2}', 20_000, 2_000)).toBe(2);
        // A writer holding the old version loses and writes nothing.
        expect(await gs.casState('g:alice', 1, '{"n":3}', 20_000, 2_000)).toBeNull();
        expect(await gs.casState('g:nobody', 4, 'x', 20_000, 2_000)).toBeNull();
        expect(await gs.getState('g:nobody', 2_000)).toBeNull();
        expect((await gs.getState('g:alice', 3_000))!.value).toBe('{"n":2}');
        // Expired: absent for readers, re-created with version 0, and the old version never matches again.
        expect(await gs.getState('g:alice', 20_000)).toBeNull();
        expect(await gs.casState('g:alice', 2, 'late', 30_000, 20_000)).toBeNull();
        const v = await gs.casState('g:alice', 0, '{"n":4}', 30_000, 20_000);
        expect(v).toBeGreaterThan(2);
        expect(await gs.getState('g:alice', 21_000)).toEqual({ value: '{"n":4}', version: v, expiresAt: 30_000 });
        expect(await gs.deleteState('g:alice')).toBe(true);
        expect(await gs.deleteState('g:alice')).toBe(false);
        expect(await gs.getState('g:alice', 21_000)).toBeNull();
      });

      it('concurrent compare-and-sets from one version: exactly one wins', async (t) => {
        const gs = store.guardState;
        if (!gs) return t.skip();
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => gs.casState('race', 0, `{"w":${i}}`, 99_000, 1)));
        expect(results.filter((r) => r === 1)).toHaveLength(1);
        const cur = await gs.getState('race', 2);
        const winners = await Promise.all(Array.from({ length: 12 }, (_, i) => gs.casState('race', cur!.version, `{"v":${i}}`, 99_000, 2)));
        expect(winners.filter((r) => r !== null)).toEqual([cur!.version + 1]);
      });

      it('keeps large blobs and unusual keys exactly; prunes only expired entries; refuses bad arguments', async (t) => {
        const gs = store.guardState;
        if (!gs) return t.skip();
        const big = JSON.stringify({ q: Array.from({ length: 20_000 }, (_, i) => i / 7), s: 'héllo "x" \u2028 \\' });
        const k = 'extraction:prada/alice@example.com:digits:\u00e9';
        expect(await gs.casState(k, 0, big, 5_000, 0)).toBe(1);
        expect((await gs.getState(k, 1))!.value).toBe(big);
        await gs.casState('short', 0, '1', 100, 0);
        expect(await gs.pruneState(1_000)).toBe(1);
        expect(await gs.getState(k, 1_000)).not.toBeNull();
        expect(await codeOf(gs.getState('', 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(gs.casState('k', -1, 'x', 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(gs.casState('k', 0, 'x', Number.NaN, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
        expect(await codeOf(gs.casState('k'.repeat(600), 0, 'x', 1, 0))).toBe('RAMPART_ERR_STORE_BAD_ARGUMENT');
      });
    });

    describe('dataset ingestion records (optional member)', () => {
      const rec = (id: string, dataset = 'tx', over: Partial<DatasetRecord> = {}): DatasetRecord => ({
        id,
        dataset,
        time: 1_000,
        principal: 'ingest-bot',
        requestId: 'req-1',
        body: JSON.stringify({ amount: 12.5, note: 'héllo "q" \u2028' }),
        findings: '[]',
        releasedBy: null,
        releasedAt: null,
        ...over,
      });

      it('keeps accepted and quarantined records apart, pages oldest first, counts per status', async (t) => {
        if (!store.datasets) return t.skip();
        const ds = store.datasets;
        await ds.insertDatasetRecords([
          { status: 'accepted', record: rec('a1') },
          { status: 'quarantined', record: rec('q1', 'tx', { findings: '[{"ruleId":"RMP-DATA-004"}]' }) },
          { status: 'accepted', record: rec('a2') },
          { status: 'accepted', record: rec('o1', 'other') },
        ]);
        const acc = await ds.listDatasetRecords({ dataset: 'tx', status: 'accepted', limit: 10 });
        expect(acc.map((r) => r.id)).toEqual(['a1', 'a2']);
        expect(acc[0]).toMatchObject(rec('a1'));
        const q = await ds.listDatasetRecords({ dataset: 'tx', status: 'quarantined', limit: 10 });
        expect(q.map((r) => r.id)).toEqual(['q1']);
        expect(q[0]!.findings).toBe('[{"ruleId":"RMP-DATA-004"}]');
        const page2 = await ds.listDatasetRecords({ dataset: 'tx', status: 'accepted', afterSeq: acc[0]!.seq, limit: 10 });
        expect(page2.map((r) => r.id)).toEqual(['a2']);
        expect(await ds.listDatasetRecords({ dataset: 'tx', status: 'accepted', limit: 1 })).toHaveLength(1);
        expect(await ds.countDatasetRecords('tx')).toEqual({ accepted: 2, quarantined: 1 });
        expect(await ds.countDatasetRecords('none')).toEqual({ accepted: 0, quarantined: 0 });
      });

      it('a batch with a repeated id stores nothing and fails with a coded error', async (t) => {
        if (!store.datasets) return t.skip();
        const ds = store.datasets;
        await ds.insertDatasetRecords([{ status: 'accepted', record: rec('x1', 'dup') }]);
        expect(await codeOf(ds.insertDatasetRecords([{ status: 'accepted', record: rec('x2', 'dup') }, { status: 'accepted', record: rec('x1', 'dup') }]))).toBe('RAMPART_ERR_STORE_DUPLICATE_KEY');
        expect(await ds.countDatasetRecords('dup')).toEqual({ accepted: 1, quarantined: 0 });
      });

      it('release moves a quarantined record to the accepted table once, recording who and when', async (t) => {
        if (!store.datasets) return t.skip();
        const ds = store.datasets;
        await ds.insertDatasetRecords([{ status: 'quarantined', record: rec('r1', 'rel') }, { status: 'quarantined', record: rec('r2', 'rel') }]);
        expect(await ds.releaseDatasetRecord('other', 'r1', 'rev', 5_000)).toBeNull();
        const r = await ds.releaseDatasetRecord('rel', 'r1', 'reviewer', 5_000);
        expect(r).toEqual(rec('r1', 'rel', { releasedBy: 'reviewer', releasedAt: 5_000 }));
        expect(await ds.releaseDatasetRecord('rel', 'r1', 'reviewer', 6_000)).toBeNull();
        expect(await ds.countDatasetRecords('rel')).toEqual({ accepted: 1, quarantined: 1 });
        const acc = await ds.listDatasetRecords({ dataset: 'rel', status: 'accepted', limit: 10 });
        expect(acc.map((x) => [x.id, x.releasedBy, x.releasedAt])).toEqual([['r1', 'reviewer', 5_000]]);
      });
    });

    it('operations after close fail with a coded error, never a crash', async () => {
      await store.close();
      const codes = await Promise.all([
        codeOf(store.keys.getApiKey('x')),
        codeOf(store.keys.insertApiKey(key('x'))),
        codeOf(store.audit.lastAudit()),
        codeOf(store.audit.appendAudit(entries(1, 1))),
        codeOf(store.counters.takeTokens('k', 1, 1, 1, 0)),
        codeOf(store.counters.addToWindow('k', 1000, 1, 0)),
      ]);
      expect(codes).toEqual(Array(6).fill('RAMPART_ERR_STORE_UNAVAILABLE'));
      store = await factory();
    });

    it('close is idempotent', async () => {
      await store.close();
      await store.close();
      store = await factory();
    });
  });
}
