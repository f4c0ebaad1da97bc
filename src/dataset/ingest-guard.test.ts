import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBaseline } from './baseline.js';
import { createIngestGuard } from './ingest-guard.js';
import { readDataset } from './read-dataset.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createIngestGuard', () => {
  it('accepts ordinary records and quarantines out-of-schema, out-of-range and unseen-label ones', async () => {
    const p = path.join(dir, 'b.csv');
    writeFileSync(p, 'a,b,label\n' + Array.from({ length: 100 }, (_, i) => `${i % 10},${(i % 7) / 7},${i % 2 ? 'y' : 'x'}`).join('\n') + '\n');
    const g = createIngestGuard(buildBaseline(await readDataset(p, { label: 'label' }), 'label'));
    expect(g.check({ a: 3, b: 0.5, label: 'x' })).toEqual({ accepted: true, findings: [] });
    const ids = (r: Record<string, unknown>) => g.check(r).findings.map((f) => f.ruleId).sort();
    expect(g.check({ a: 300, b: 0.5, label: 'x' }).accepted).toBe(false);
    expect(ids({ a: 300, b: 0.5, label: 'x' })).toEqual(['RMP-DATA-004', 'RMP-DATA-030']);
    expect(ids({ a: 'three', b: 0.5, label: 'x' })).toEqual(['RMP-DATA-002']);
    expect(ids({ a: 1, b: 0.5, label: 'z' })).toEqual(['RMP-DATA-006']);
    expect(ids({ a: 1, label: 'x', extra: 1 })).toEqual(['RMP-DATA-003', 'RMP-DATA-003']);
  });
});
