// Export and follow: atomic file export (nothing left behind on failure), the JSON Lines format
// re-verifiable from the file alone, and --follow picking up entries written later.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../test/helpers/fifo.js';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { AuditEntry } from '../store/types.js';
import { createAuditLog } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';
import { entryHash, GENESIS_HASH } from './chain.js';
import { exportAuditJsonlFile, followAudit } from './export.js';
import { sampleRecord } from './testing/records.js';
import { verifyAuditExport } from './verify-export.js';

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

describe('audit export -o to a FIFO or a symbolic link', () => {
  async function storeWith(n: number) {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 100, flushEvery: 8 }, silentLogger());
    for (let i = 0; i < n; i++) log.record(sampleRecord(i));
    await log.close();
    return store;
  }

  it('writes into a FIFO (regression: a temporary file was renamed over it)', async () => {
    const sub = mkdtempSync(join(dir, 'fifo-'));
    const fifo = makeFifo(sub);
    if (!fifo) return;
    const store = await storeWith(300);
    const got = drainFifo(fifo);
    expect(await exportAuditJsonlFile(store.audit, fifo)).toBe(300);
    const text = (await got).toString();
    expect(text.trimEnd().split('\n')).toHaveLength(300);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(sub).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await store.close();
  });

  it('replaces the file a symbolic link points at (mode 0600), keeping the link', async () => {
    const store = await storeWith(3);
    const real = join(dir, 'linked-export.jsonl');
    const link = join(dir, 'export-link.jsonl');
    writeFileSync(real, 'old\n');
    symlinkSync(real, link);
    expect(await exportAuditJsonlFile(store.audit, link)).toBe(3);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8').trimEnd().split('\n')).toHaveLength(3);
    expect(statSync(real).mode & 0o777).toBe(0o600);
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

describe('verifyAuditExport', () => {
  async function exported(name: string, filter: { since?: number } = {}): Promise<{ file: string; lines: string[] }> {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    let clock = 1_000_000;
    const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 100, flushEvery: 8 }, silentLogger(), { now: () => clock });
    for (let i = 1; i <= 30; i++) {
      clock = 1_000_000 + Math.floor((i - 1) / 10) * 1000;
      log.record(sampleRecord(i));
      if (i % 10 === 0) await log.flush();
    }
    await log.close();
    const file = join(dir, name);
    await exportAuditJsonlFile(store.audit, file, filter);
    await store.close();
    return { file, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
  }
  const rewrite = (file: string, lines: string[]) => writeFileSync(file, `${lines.join('\n')}\n`);

  it('an untouched export verifies; a filtered one from its first line on', async () => {
    const full = await exported('full.jsonl');
    expect(await verifyAuditExport(full.file)).toMatchObject({ ok: true, checked: 30, firstSeq: 1 });
    const part = await exported('part.jsonl', { since: 1_001_000 });
    expect(await verifyAuditExport(part.file)).toMatchObject({ ok: true, checked: 20, firstSeq: 11 });
  });

  it('names edits to the file: a changed field, a removed line, a malformed line, a repeated line, an anchor past the end', async () => {
    const { file, lines } = await exported('edit.jsonl');
    const edited = [...lines];
    edited[6] = edited[6]!.replace('"status":200', '"status":404');
    rewrite(file, edited);
    expect((await verifyAuditExport(file)).firstBad).toMatchObject({ seq: 7, reason: 'altered' });

    rewrite(file, lines.filter((_, i) => i !== 11));
    expect((await verifyAuditExport(file)).firstBad).toMatchObject({ seq: 12, reason: 'deleted' });

    rewrite(file, [...lines.slice(0, 20), '{"seq": 21, oops', ...lines.slice(21)]);
    expect((await verifyAuditExport(file)).firstBad).toMatchObject({ seq: 21, reason: 'altered' });

    rewrite(file, [...lines.slice(0, 5), lines[4]!, ...lines.slice(5)]);
    expect((await verifyAuditExport(file)).firstBad).toMatchObject({ seq: 5, reason: 'inserted' });

    const last = JSON.parse(lines[29]!) as { hash: string };
    rewrite(file, lines.slice(0, 25));
    const r = await verifyAuditExport(file, { anchors: [{ seq: 30, hash: last.hash, time: 0 }] });
    expect(r.firstBad).toMatchObject({ seq: 26, reason: 'truncated' });
  });

  it('a missing file is a coded error', async () => {
    await expect(verifyAuditExport(join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'RAMPART_ERR_FILE_NOT_FOUND' });
  });
});
