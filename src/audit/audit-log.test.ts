// The audit writer against a real SQLite store: order, batching, the flush timer, no loss on
// close, retries after store failures (injected by wrapping the real store), two writers on one
// database, body exclusion and checkpoints.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../core/contracts.js';
import { silentLogger } from '../core/logger.js';
import { StoreUnavailableError } from '../store/errors.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { AuditEntry, AuditStore } from '../store/types.js';
import { createAuditLog } from './audit-log.js';
import { captureLogger, sampleRecord } from './testing/records.js';
import { verifyAudit } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-auditlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cfg = (over: Partial<{ includeBodies: boolean; checkpointEvery: number; flushEvery: number }> = {}) => ({
  includeBodies: false,
  checkpointEvery: 1000,
  flushEvery: 256,
  ...over,
});
const ids = (entries: AuditEntry[]) => entries.map((e) => (JSON.parse(e.body) as AuditRecord).id);

/** Wraps a real AuditStore and makes chosen calls fail, to exercise the retry paths. */
class FaultyAuditStore implements AuditStore {
  appendCalls = 0;
  constructor(
    private readonly inner: AuditStore,
    private readonly fail: (call: number) => 'ok' | 'before' | 'after-commit',
  ) {}
  async appendAudit(entries: AuditEntry[]): Promise<void> {
    const mode = this.fail(++this.appendCalls);
    if (mode === 'before') throw new StoreUnavailableError('injected: database is down');
    await this.inner.appendAudit(entries);
    if (mode === 'after-commit') throw new StoreUnavailableError('injected: connection lost after commit');
  }
  lastAudit() {
    return this.inner.lastAudit();
  }
  readAudit(from: number, limit: number) {
    return this.inner.readAudit(from, limit);
  }
  saveCheckpoint(cp: { seq: number; hash: string; time: number }) {
    return this.inner.saveCheckpoint(cp);
  }
  listCheckpoints() {
    return this.inner.listCheckpoints();
  }
}

describe('audit log', () => {
  it('writes every record in the order recorded, in batches of at most flushEvery', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const sizes: number[] = [];
    const spy = new FaultyAuditStore(store.audit, () => 'ok');
    const orig = spy.appendAudit.bind(spy);
    spy.appendAudit = async (e) => {
      sizes.push(e.length);
      return orig(e);
    };
    const log = createAuditLog(spy, cfg({ flushEvery: 64 }), silentLogger(), { maxBatch: 64 });
    for (let i = 0; i < 1000; i++) {
      log.record(sampleRecord(i));
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.close();
    const all = await store.audit.readAudit(1, 5000);
    expect(ids(all)).toEqual(Array.from({ length: 1000 }, (_, i) => `req-${i}`));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect((await verifyAudit(store.audit)).ok).toBe(true);
    await store.close();
  });

  it('writes a backlog in larger batches, up to maxBatch', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const sizes: number[] = [];
    const spy = new FaultyAuditStore(store.audit, () => 'ok');
    const orig = spy.appendAudit.bind(spy);
    spy.appendAudit = async (e) => {
      sizes.push(e.length);
      return orig(e);
    };
    const log = createAuditLog(spy, cfg({ flushEvery: 10 }), silentLogger(), { maxBatch: 300 });
    for (let i = 0; i < 1000; i++) log.record(sampleRecord(i));
    await log.close();
    expect(sizes[0]).toBe(300);
    expect(Math.max(...sizes)).toBe(300);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    await store.close();
  });

  it('record() returns at once; the timer writes a small batch without any flush call', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, cfg(), silentLogger(), { flushIntervalMs: 20 });
    log.record(sampleRecord(1));
    log.record(sampleRecord(2));
    expect(await store.audit.lastAudit()).toBeNull();
    const until = Date.now() + 3000;
    while (!(await store.audit.lastAudit()) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect((await store.audit.lastAudit())?.seq).toBe(2);
    await log.close();
    await store.close();
  });

  it('loses nothing on close, even right after a burst', async () => {
    const path = join(dir, 'close.db');
    const store = openSqliteStore({ path }, silentLogger());
    const log = createAuditLog(store.audit, cfg({ flushEvery: 100 }), silentLogger(), { flushIntervalMs: 60_000 });
    for (let i = 0; i < 1234; i++) log.record(sampleRecord(i));
    await log.close();
    await store.close();
    const again = openSqliteStore({ path }, silentLogger());
    expect((await again.audit.lastAudit())?.seq).toBe(1234);
    // close() checkpoints the head, so the tail is anchored.
    expect((await again.audit.listCheckpoints()).at(-1)?.seq).toBe(1234);
    await again.close();
  });

  it('continues the chain of an existing store after a restart', async () => {
    const path = join(dir, 'restart.db');
    for (let run = 0; run < 3; run++) {
      const store = openSqliteStore({ path }, silentLogger());
      const log = createAuditLog(store.audit, cfg({ checkpointEvery: 4 }), silentLogger());
      for (let i = 0; i < 10; i++) log.record(sampleRecord(run * 10 + i));
      await log.close();
      await store.close();
    }
    const store = openSqliteStore({ path }, silentLogger());
    expect(await verifyAudit(store.audit)).toMatchObject({ ok: true, checked: 30 });
    expect((await store.audit.listCheckpoints()).map((c) => c.seq)).toEqual([4, 8, 10, 12, 16, 20, 24, 28, 30]);
    await store.close();
  });

  it('retries a failed write with a coded error in the log, and loses nothing', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const faulty = new FaultyAuditStore(store.audit, (n) => (n <= 3 ? 'before' : 'ok'));
    const { logger, lines } = captureLogger();
    const log = createAuditLog(faulty, cfg({ flushEvery: 10 }), logger, { retryMinMs: 5 });
    for (let i = 0; i < 25; i++) log.record(sampleRecord(i));
    await log.flush();
    expect(ids(await store.audit.readAudit(1, 100))).toEqual(Array.from({ length: 25 }, (_, i) => `req-${i}`));
    expect(lines.filter((l) => l.code === 'RAMPART_ERR_AUDIT_WRITE_FAILED')).toHaveLength(3);
    await log.close();
    expect((await verifyAudit(store.audit)).ok).toBe(true);
    await store.close();
  });

  it('holds a large backlog while the store is down, warns once per tenfold, then writes it all in order', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    let down = true;
    const faulty = new FaultyAuditStore(store.audit, () => (down ? 'before' : 'ok'));
    const { logger, lines } = captureLogger();
    const log = createAuditLog(faulty, cfg({ flushEvery: 100 }), logger, { retryMinMs: 5, retryMaxMs: 10 });
    for (let i = 0; i < 12_000; i++) log.record(sampleRecord(i));
    await new Promise((r) => setTimeout(r, 30));
    expect(lines.filter((l) => l.msg === 'audit: records are piling up in memory').map((l) => l.queued)).toEqual([10_000]);
    down = false;
    await log.close();
    const all = await store.audit.readAudit(1, 20_000);
    expect(all).toHaveLength(12_000);
    expect(ids([all[0]!, all[10_001]!, all[11_999]!])).toEqual(['req-0', 'req-10001', 'req-11999']);
    expect((await verifyAudit(store.audit)).ok).toBe(true);
    await store.close();
  });

  it('a write that failed after it committed is not written twice', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const faulty = new FaultyAuditStore(store.audit, (n) => (n === 1 ? 'after-commit' : 'ok'));
    const log = createAuditLog(faulty, cfg({ flushEvery: 5 }), silentLogger(), { retryMinMs: 5 });
    for (let i = 0; i < 12; i++) log.record(sampleRecord(i));
    await log.close();
    expect(ids(await store.audit.readAudit(1, 100))).toEqual(Array.from({ length: 12 }, (_, i) => `req-${i}`));
    expect((await verifyAudit(store.audit)).ok).toBe(true);
    await store.close();
  });

  it('close() gives up after its timeout with a coded error when the store stays down', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const faulty = new FaultyAuditStore(store.audit, () => 'before');
    const log = createAuditLog(faulty, cfg(), silentLogger(), { retryMinMs: 5, retryMaxMs: 20, closeTimeoutMs: 150 });
    log.record(sampleRecord(1));
    await expect(log.close()).rejects.toMatchObject({ code: 'RAMPART_ERR_AUDIT_FLUSH_INCOMPLETE', details: { unwritten: 1 } });
    await store.close();
  });

  it('two writers (two replicas) on one database interleave into one valid chain', async () => {
    const path = join(dir, 'two.db');
    const a = openSqliteStore({ path }, silentLogger());
    const b = openSqliteStore({ path }, silentLogger());
    const la = createAuditLog(a.audit, cfg({ flushEvery: 7, checkpointEvery: 10 }), silentLogger(), { flushIntervalMs: 1 });
    const lb = createAuditLog(b.audit, cfg({ flushEvery: 5, checkpointEvery: 10 }), silentLogger(), { flushIntervalMs: 1 });
    for (let i = 0; i < 200; i++) {
      la.record(sampleRecord(i, { id: `a-${i}` }));
      lb.record(sampleRecord(i, { id: `b-${i}` }));
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all([la.close(), lb.close()]);
    const got = ids(await a.audit.readAudit(1, 1000));
    expect(got).toHaveLength(400);
    // Each writer's own records stay in order.
    expect(got.filter((x) => x.startsWith('a-'))).toEqual(Array.from({ length: 200 }, (_, i) => `a-${i}`));
    expect(got.filter((x) => x.startsWith('b-'))).toEqual(Array.from({ length: 200 }, (_, i) => `b-${i}`));
    expect(await verifyAudit(a.audit)).toMatchObject({ ok: true, checked: 400 });
    await a.close();
    await b.close();
  });

  it('leaves bodies out unless includeBodies is set', async () => {
    for (const includeBodies of [false, true]) {
      const store = openSqliteStore({ path: ':memory:' }, silentLogger());
      const log = createAuditLog(store.audit, cfg({ includeBodies }), silentLogger());
      log.record(sampleRecord(1, { requestBody: '{"prompt":"secret plans"}', responseBody: 'ok' }));
      await log.close();
      const [e] = await store.audit.readAudit(1, 1);
      expect(e!.body.includes('secret plans')).toBe(includeBodies);
      expect('responseBody' in JSON.parse(e!.body)).toBe(includeBodies);
      await store.close();
    }
  });

  it('stores canonical JSON: the caller mutating its object later changes nothing', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, cfg(), silentLogger());
    const rec = sampleRecord(1);
    log.record(rec);
    rec.principal = 'changed';
    await log.close();
    const [e] = await store.audit.readAudit(1, 1);
    expect(JSON.parse(e!.body).principal).toBe('svc-batch');
    expect(e!.body.startsWith('{"action":"invoke","authMethod":"api-key","bytesIn":1024')).toBe(true);
    await store.close();
  });

  it('never throws from record(): unserialisable records keep their id; records after close are logged', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const { logger, lines } = captureLogger();
    const log = createAuditLog(store.audit, cfg(), logger);
    const weird = sampleRecord(1) as AuditRecord & { extra?: unknown };
    weird.extra = 10n;
    expect(() => log.record(weird)).not.toThrow();
    await log.close();
    expect(() => log.record(sampleRecord(2))).not.toThrow();
    const [e] = await store.audit.readAudit(1, 5);
    expect(JSON.parse(e!.body)).toMatchObject({ id: 'req-1', unserialisable: true });
    expect(lines.some((l) => l.code === 'RAMPART_ERR_AUDIT_CLOSED')).toBe(true);
    await store.close();
  });

  it('checkpoints every checkpointEvery records and logs each checkpoint', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const { logger, lines } = captureLogger();
    const log = createAuditLog(store.audit, cfg({ checkpointEvery: 50, flushEvery: 32 }), logger);
    for (let i = 0; i < 175; i++) log.record(sampleRecord(i));
    await log.close();
    const cps = await store.audit.listCheckpoints();
    expect(cps.map((c) => c.seq)).toEqual([50, 100, 150, 175]);
    const logged = lines.filter((l) => l.auditCheckpoint).map((l) => l.auditCheckpoint);
    expect(logged).toEqual(cps.map((c) => ({ seq: c.seq, hash: c.hash })));
    await store.close();
  });
});
