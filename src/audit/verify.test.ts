// verifyAudit against SQLite, editing the database file directly; plus verify on larger chains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import { createAuditLog } from './audit-log.js';
import { runTamperCases } from './tamper.case.js';
import { sampleRecord } from './testing/records.js';
import { verifyAudit } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runTamperCases('sqlite', async () => {
  const store = openSqliteStore({ path: join(dir, `t${n++}.db`) }, silentLogger());
  return {
    store,
    exec: async (sql) => {
      store.db.exec(sql);
    },
    close: () => store.close(),
  };
});

describe('verifyAudit', () => {
  it('an empty store verifies', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    expect(await verifyAudit(store.audit)).toEqual({ ok: true, checked: 0, lastSeq: 0, checkpoints: 0 });
    await store.close();
  });

  it('walks a chain longer than one page and finds a change deep inside it', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 1000, flushEvery: 256 }, silentLogger());
    for (let i = 1; i <= 2500; i++) log.record(sampleRecord(i));
    await log.close();
    expect(await verifyAudit(store.audit, { pageSize: 300 })).toMatchObject({ ok: true, checked: 2500, checkpoints: 3 });
    store.db.exec(`UPDATE audit SET body = replace(body, '"bytesIn":1024', '"bytesIn":1') WHERE seq = 2222`);
    expect((await verifyAudit(store.audit, { pageSize: 300 })).firstBad).toMatchObject({ seq: 2222, reason: 'altered' });
    await store.close();
  });
});
