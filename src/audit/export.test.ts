// Export and follow: atomic file export (nothing left behind on failure), the JSON Lines format
// re-verifiable from the file alone, and --follow picking up entries written later.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { AuditEntry } from '../store/types.js';
import { createAuditLog } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';
import { entryHash, GENESIS_HASH } from './chain.js';
import { exportAuditJsonlFile, followAudit } from './export.js';
import { sampleRecord } from './testing/records.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit export', () => {
  it('writes JSON Lines that re-verify from the file alone', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 100, flushEvery: 8 }, silentLogger());
    for (let i = 0; i < 50; i++) log.record(sampleRecord(i, { policyIds: ['z', 'a'], usage: null }));
    await log.close();
    const file = join(dir, 'a.jsonl');
    expect(await exportAuditJsonlFile(store.audit, file)).toBe(50);
    let prev = GENESIS_HASH;
    for (const line of readFileSync(file, 'utf8').trimEnd().split('\n')) {
      const x = JSON.parse(line) as { seq: number; time: number; prevHash: string; hash: string; record: unknown };
      expect(x.prevHash).toBe(prev);
      expect(entryHash(x.seq, x.time, x.prevHash, canonicalJson(x.record))).toBe(x.hash);
      prev = x.hash;
    }
    await store.close();
  });

  it('leaves neither the file nor a temporary file when the export fails', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 100, flushEvery: 8 }, silentLogger());
    for (let i = 0; i < 5; i++) log.record(sampleRecord(i));
    await log.close();
    store.db.exec(`UPDATE audit SET body = 'not json' WHERE seq = 4`);
    const sub = mkdtempSync(join(dir, 'fail-'));
    await expect(exportAuditJsonlFile(store.audit, join(sub, 'x.jsonl'))).rejects.toMatchObject({ code: 'RAMPART_ERR_AUDIT_BAD_ENTRY' });
    expect(readdirSync(sub)).toEqual([]);
    // An existing file is replaced only by a complete export.
    await expect(exportAuditJsonlFile(store.audit, join(dir, 'no-such-dir', 'x.jsonl'))).rejects.toThrow();
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    await store.close();
  });
});

describe('followAudit', () => {
  it('yields what exists, then entries written later, until aborted', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 100, flushEvery: 8 }, silentLogger());
    log.record(sampleRecord(1));
    await log.flush();
    const ac = new AbortController();
    const seen: AuditEntry[] = [];
    const done = (async () => {
      for await (const e of followAudit(store.audit, 1, 10, ac.signal)) {
        seen.push(e);
        if (seen.length === 3) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 30));
    log.record(sampleRecord(2));
    log.record(sampleRecord(3));
    await log.flush();
    await done;
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3]);
    await log.close();
    await store.close();
  });
});
