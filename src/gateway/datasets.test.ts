// The ingestion route's core on its own: what a quarantined (or flagged) record's data.record event
// may carry, and the stream checks (repeats) across requests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { buildBaseline, writeBaseline } from '../dataset/baseline.js';
import { datasetIngestSchema } from '../dataset/ingest-config.js';
import { readDataset } from '../dataset/read-dataset.js';
import type { RampartEvent } from '../events/schema.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite.js';
import { createDatasetIngest, MAX_EVENT_COLUMN_CHARS, MAX_EVENT_COLUMNS } from './datasets.js';

let dir: string;
let store: SqliteStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-datasets-'));
  const lines = ['amount,label'];
  for (let i = 0; i < 50; i++) lines.push(`${20 + (i % 10)},${i % 5 === 0 ? 'fraud' : 'ok'}`);
  writeFileSync(join(dir, 'h.csv'), lines.join('\n') + '\n');
  writeBaseline(join(dir, 'b.json'), buildBaseline(await readDataset(join(dir, 'h.csv'), { label: 'label' }), 'label'));
  store = openSqliteStore({ path: ':memory:' }, silentLogger());
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('data.record events', () => {
  it('list at most 32 field names of at most 128 characters and say how many were dropped (regression: every unknown field name reached the sinks)', async () => {
    const events: RampartEvent[] = [];
    const ingest = createDatasetIngest({ configs: [datasetIngestSchema.parse({ name: 'tx', baseline: join(dir, 'b.json') })], store: store.datasets, publish: (...e) => events.push(...e), logger: silentLogger() });
    const rec: Record<string, unknown> = { amount: 21, label: 'ok' };
    for (let i = 0; i < 100; i++) rec[`f${String(i).padStart(3, '0')}${'x'.repeat(300)}`] = 1;
    const r = await ingest.ingest('tx', [rec, { amount: 22, label: 'ok', extra: 1 }], { principal: 'bot', requestId: 'r1', sourceIp: '127.0.0.1' });
    expect(r.quarantined).toBe(2);
    // The answer to the client itself still names every field.
    expect(r.data[0]!.findings.length).toBe(100);
    expect(events.length).toBe(2);
    const big = events[0]!.data as { columns: string[]; columnsDropped?: number };
    expect(big.columns.length).toBe(MAX_EVENT_COLUMNS);
    expect(Math.max(...big.columns.map((c) => c.length))).toBe(MAX_EVENT_COLUMN_CHARS);
    expect(big.columns[0]).toBe(`f000${'x'.repeat(MAX_EVENT_COLUMN_CHARS - 4)}`);
    expect(big.columnsDropped).toBe(100 - MAX_EVENT_COLUMNS);
    expect(events[1]!.data).toMatchObject({ columns: ['extra'] });
    expect(events[1]!.data).not.toHaveProperty('columnsDropped');
  });
});

describe('stream checks through the route', () => {
  it('flags a record repeated in a later request (published, stored as accepted) and quarantines a conflicting-label repeat', async () => {
    const events: RampartEvent[] = [];
    const ingest = createDatasetIngest({ configs: [datasetIngestSchema.parse({ name: 'tx2', baseline: join(dir, 'b.json') })], store: store.datasets, publish: (...e) => events.push(...e), logger: silentLogger() });
    const meta = { principal: 'bot', requestId: 'r2', sourceIp: '127.0.0.1' };
    expect((await ingest.ingest('tx2', [{ amount: 24, label: 'ok' }], meta)).accepted).toBe(1);
    expect(events.length).toBe(0);
    const r = await ingest.ingest('tx2', [{ label: 'ok', amount: 24 }, { amount: 24, label: 'fraud' }], meta);
    expect(r.data.map((d) => [d.status, d.findings.map((f) => f.ruleId).join()])).toEqual([
      ['accepted', 'RMP-DATA-010'],
      ['quarantined', 'RMP-DATA-011'],
    ]);
    expect(events.map((e) => [e.severity, (e.data as { status: string; rules: string[] }).status, (e.data as { rules: string[] }).rules.join()])).toEqual([
      ['low', 'accepted', 'RMP-DATA-010'],
      ['medium', 'quarantined', 'RMP-DATA-011'],
    ]);
    expect(await store.datasets.countDatasetRecords('tx2')).toEqual({ accepted: 2, quarantined: 1 });
    // Another dataset has its own memory.
    const other = createDatasetIngest({ configs: [datasetIngestSchema.parse({ name: 'tx3', baseline: join(dir, 'b.json'), thresholds: { recentRecords: 0 } })], store: store.datasets, logger: silentLogger() });
    await other.ingest('tx3', [{ amount: 24, label: 'ok' }], meta);
    expect((await other.ingest('tx3', [{ amount: 24, label: 'ok' }], meta)).data[0]!.findings).toEqual([]);
  });
});
