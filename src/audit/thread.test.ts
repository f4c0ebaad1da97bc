// The audit writer thread against a real SQLite file: records chained and stored by the thread,
// flush and close semantics, a thread that dies and is replaced without losing records, a thread
// that cannot open the store, and the thread's log lines written by the caller's logger.
// (The thread runs the compiled dist/audit/thread-worker.js: the test command builds first.)
import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../core/contracts.js';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import { captureLogger, sampleRecord } from './testing/records.js';
import { auditRecordJson } from './canonical-json.js';
import { toTuple } from './record-tuple.js';
import { startAuditThread } from './thread.js';
import { verifyAudit } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-auditthread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A new store file with its schema (the gateway opens the store before the thread starts). */
function newFile(): string {
  const path = join(dir, `t${++n}.db`);
  void openSqliteStore({ path }, silentLogger()).close();
  return path;
}
const cfg = { includeBodies: false, checkpointEvery: 100, flushEvery: 64 };

async function storedIds(path: string): Promise<{ ids: string[]; ok: boolean; checked: number }> {
  const store = openSqliteStore({ path }, silentLogger());
  try {
    const v = await verifyAudit(store.audit);
    const entries = await store.audit.readAudit(1, 1_000_000);
    return { ids: entries.map((e) => (JSON.parse(e.body) as AuditRecord).id), ok: v.ok, checked: v.checked };
  } finally {
    await store.close();
  }
}

describe('audit writer thread', () => {
  it('chains and stores every record in order; flush() returns once they are in the file', async () => {
    const path = newFile();
    const log = await startAuditThread({ path, cfg, logger: silentLogger() });
    for (let i = 0; i < 1000; i++) {
      log.record(sampleRecord(i));
      if (i % 97 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.flush();
    const mid = await storedIds(path);
    expect(mid.ids).toEqual(Array.from({ length: 1000 }, (_, i) => `req-${i}`));
    expect(mid.ok).toBe(true);
    for (let i = 1000; i < 1010; i++) log.record(sampleRecord(i));
    await log.close();
    const end = await storedIds(path);
    expect(end.ids).toHaveLength(1010);
    expect(end.ok).toBe(true);
    // After close nothing more is accepted, and nothing is written.
    log.record(sampleRecord(2000));
    expect((await storedIds(path)).ids).toHaveLength(1010);
  });

  it('stores the same bytes whether a record went over as a tuple of values or serialised', async () => {
    const path = newFile();
    const log = await startAuditThread({ path, cfg, logger: silentLogger() });
    const recs: AuditRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const r = sampleRecord(i, i % 7 === 0 ? { usage: null, principal: 'quote " \\ \u2028 é' } : {});
      // Every third record is not of the tuple shape (an extra key): serialised before it goes.
      recs.push(i % 3 === 0 ? ({ ...r, id: r.id, time: r.time, zz: undefined } as AuditRecord) : r);
      expect(toTuple(recs[i]!) === null).toBe(i % 3 === 0);
      log.record(recs[i]!);
    }
    await log.close();
    const store = openSqliteStore({ path }, silentLogger());
    try {
      const bodies = (await store.audit.readAudit(1, 1000)).map((e) => e.body);
      expect(bodies).toEqual(recs.map((r) => auditRecordJson(r, true)));
    } finally {
      await store.close();
    }
  });

  it('keeps bodies out unless includeBodies, as the inline writer does', async () => {
    const path = newFile();
    const log = await startAuditThread({ path, cfg, logger: silentLogger() });
    log.record(sampleRecord(1, { requestBody: 'secret prompt' }));
    await log.close();
    const store = openSqliteStore({ path }, silentLogger());
    const [e] = await store.audit.readAudit(1, 1);
    await store.close();
    expect(e!.body).not.toContain('secret prompt');
    expect(JSON.parse(e!.body)).toMatchObject({ id: 'req-1' });
  });

  it('hands records over together while the first waits (one message, not one per record), and stores them within the flush interval', async () => {
    const path = newFile();
    // Interval 400 ms: the first record waits 50 ms on this side, the writer flushes 350 ms after it arrives.
    const log = await startAuditThread({ path, cfg: { ...cfg, flushEvery: 100_000 }, logger: silentLogger(), flushIntervalMs: 400 });
    const t0 = performance.now();
    log.record(sampleRecord(0));
    // Recorded 5 ms later, before the first record's hand-over timer (timers run in the order they expire).
    await new Promise((r) => setTimeout(r, 5));
    log.record(sampleRecord(1));
    while (log.pending > 0) await new Promise((r) => setTimeout(r, 5));
    const elapsed = performance.now() - t0;
    expect(log.handOvers).toBe(1);
    // Not written before the interval has passed (timers never fire early), and not much after it.
    expect(elapsed).toBeGreaterThanOrEqual(395);
    expect(elapsed).toBeLessThan(400 + 2_000);
    await log.close();
    expect((await storedIds(path)).ids).toEqual([sampleRecord(0).id, sampleRecord(1).id]);
  });

  it('a thread that dies is replaced and the records it had not acknowledged are written again', async () => {
    const path = newFile();
    const log = await startAuditThread({ path, cfg: { ...cfg, flushEvery: 100_000 }, logger: silentLogger(), flushIntervalMs: 60_000 });
    for (let i = 0; i < 300; i++) log.record(sampleRecord(i));
    await new Promise((r) => setImmediate(r));
    // The thread holds the 300 records in its queue (no flush due for a minute) and dies.
    await (log as unknown as { worker: Worker }).worker.terminate();
    for (let i = 300; i < 400; i++) log.record(sampleRecord(i));
    await log.flush();
    expect(log.restarts).toBe(1);
    const r = await storedIds(path);
    expect(r.ok).toBe(true);
    expect(new Set(r.ids)).toEqual(new Set(Array.from({ length: 400 }, (_, i) => `req-${i}`)));
    expect(r.ids).toHaveLength(400);
    await log.close();
  });

  it("checkpoints the WAL from the thread's commits while the request thread's connection never does", async () => {
    const path = newFile();
    const main = openSqliteStore({ path }, silentLogger());
    main.setAutoCheckpoint(false);
    expect(main.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const log = await startAuditThread({ path, cfg: { ...cfg, includeBodies: true }, logger: silentLogger() });
    // About 12 MB of records: three times SQLite's default checkpoint threshold of 1,000 pages.
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 3000; i++) {
      log.record(sampleRecord(i, { requestBody: big }));
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.close();
    // Checkpointed (and the WAL reused from its start) along the way: it never grew to hold all of it.
    expect(statSync(`${path}-wal`).size).toBeLessThan(8 * 1024 * 1024);
    expect((await storedIds(path)).ids).toHaveLength(3000);
    await main.close();
  });

  it('refuses to start when the thread cannot open the store', async () => {
    const notAFile = join(dir, 'a-directory');
    mkdirSync(notAFile);
    await expect(startAuditThread({ path: notAFile, cfg, logger: silentLogger() })).rejects.toMatchObject({ code: 'RAMPART_ERR_AUDIT_WRITE_FAILED' });
  });

  it("writes the thread's log lines (checkpoints) with the caller's logger", async () => {
    const path = newFile();
    const { logger, lines } = captureLogger();
    const log = await startAuditThread({ path, cfg, logger });
    for (let i = 0; i < 250; i++) log.record(sampleRecord(i));
    await log.close();
    const cps = lines.filter((l) => l.msg === 'audit: checkpoint');
    expect(cps.map((l) => (l.auditCheckpoint as { seq: number }).seq)).toEqual([100, 200, 250]);
    expect(cps.every((l) => l.component === 'audit' && l.level === 30)).toBe(true);
  });
});
