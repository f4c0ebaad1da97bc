// Chunked scans (--chunk-rows): when the sample holds every row, every finding equals the in-memory
// scan's (without the k-NN checks), whatever the chunk size; with a smaller sample the planted
// problems are still found; clean/quarantine files are the same.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../core/types.js';
import { buildBaseline, writeBaseline } from './baseline.js';
import { readDataset } from './read-dataset.js';
import { runDatasetScan } from './run-dataset-scan.js';
import { scanDatasetChunked } from './scan-chunked.js';
import { scanDatasetFile } from './scan-dataset.js';
import { rng } from './testing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-chunked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** 3 classes × 100 rows, 4 features, 3 sources, as CSV lines (without header). */
function rows(seed: number): string[] {
  const r = rng(seed);
  const centres = [
    [0, 0, 0, 0],
    [10, 10, 0, 0],
    [0, 10, 10, 10],
  ];
  return Array.from({ length: 300 }, (_, i) => `${i},${centres[i % 3]!.map((m) => (m + gauss(r)).toFixed(3)).join(',')},c${i % 3},s${Math.floor(i / 7) % 3}`);
}
const HEADER = 'id,f0,f1,f2,f3,label,src';
const opts = { label: 'label', id: 'id', source: 'src', version: 'test', noNeighbours: true };

/** The planted problems: type error, short row, extreme value, copies, range, unseen label, a bad source. */
function planted(): string[] {
  const x = rows(3);
  const r = rng(11);
  for (let i = 0; i < 300; i++) if (x[i]!.endsWith(',s1') && r() < 0.4) x[i] = x[i]!.replace(/^(\d+),[^,]+/, (_, id: string) => `${id},${(60 + 40 * r()).toFixed(3)}`);
  x[20] = '20,1,2,abc,3,c2,s0';
  x[30] = '30,1,2,3';
  x[40] = x[40]!.replace(/^40,[^,]+/, '40,400');
  x[51] = x[50]!.replace(/^50,/, '51,').replace(/,c2,/, ',c0,');
  x[61] = x[60]!.replace(/^60,/, '61,');
  x[70] = x[70]!.replace(/^70,[^,]+/, '70,25');
  x[80] = x[80]!.replace(/,c2,/, ',c9,');
  return x;
}

const canon = (fs: Finding[]) => fs.map((f) => JSON.stringify([f.ruleId, f.severity, f.location ?? null, f.message, f.details ?? null])).sort();

describe('scanDatasetChunked', () => {
  const base = path.join(dir, 'base.json');
  it('gives exactly the in-memory findings when the sample holds every row, for any chunk size and both text formats', async () => {
    writeFileSync(path.join(dir, 'old.csv'), [HEADER, ...rows(2)].join('\n') + '\n');
    writeBaseline(base, buildBaseline(await readDataset(path.join(dir, 'old.csv'), opts), 'label'));
    const csv = path.join(dir, 'p.csv');
    writeFileSync(csv, [HEADER, ...planted()].join('\n') + '\n');
    const whole = await scanDatasetFile(csv, { ...opts, dataBaseline: base });
    const ids = new Set(whole.report.findings.map((f) => f.ruleId));
    for (const id of ['RMP-DATA-001', 'RMP-DATA-002', 'RMP-DATA-004', 'RMP-DATA-006', 'RMP-DATA-010', 'RMP-DATA-011', 'RMP-DATA-030', 'RMP-DATA-031', 'RMP-DATA-050']) expect(ids, id).toContain(id);
    for (const chunkRows of [1, 7, 64, 1000]) {
      const c = await scanDatasetChunked(csv, { ...opts, dataBaseline: base, chunkRows });
      expect(canon(c.report.findings), `chunk ${chunkRows}`).toEqual(canon(whole.report.findings));
      expect(Array.from(c.rowSeverity)).toEqual(Array.from(whole.rowSeverity));
    }
    // JSON Lines with blank lines: same rows, lines counted the same way.
    const jl = planted().map((l) => {
      const [id, f0, f1, f2, f3, label, src] = l.split(',');
      const num = (v: string | undefined) => (v === undefined ? undefined : Number.isNaN(Number(v)) ? v : Number(v));
      return JSON.stringify({ id, f0: num(f0), f1: num(f1), f2: num(f2), f3: num(f3), label, src });
    });
    jl.splice(100, 0, '');
    const jfile = path.join(dir, 'p.jsonl');
    writeFileSync(jfile, jl.join('\n') + '\n');
    const jwhole = await scanDatasetFile(jfile, { ...opts });
    const jc = await scanDatasetChunked(jfile, { ...opts, chunkRows: 13 });
    expect(canon(jc.report.findings)).toEqual(canon(jwhole.report.findings));
  });

  it('with a sample smaller than the data, still finds the planted rows', async () => {
    const csv = path.join(dir, 'p.csv');
    const c = await scanDatasetChunked(csv, { ...opts, chunkRows: 50, sampleRows: 120 });
    const at = (id: string) => c.report.findings.filter((f) => f.ruleId === id).map((f) => f.location?.row);
    expect(at('RMP-DATA-002')).toEqual([20]);
    expect(at('RMP-DATA-001')).toEqual([30]);
    expect(at('RMP-DATA-011')).toEqual([50, 51]);
    expect(at('RMP-DATA-030')).toContain(40);
    expect(c.report.findings.find((f) => f.ruleId === 'RMP-DATA-011')!.location!.record).toBe('50');
    expect(c.skipped).toEqual([]);
  });

  it('writes the same clean and quarantine files as the in-memory scan, and refuses --embeddings', async () => {
    const csv = path.join(dir, 'p.csv');
    const out = (tag: string) => ({ writeClean: path.join(dir, `${tag}-clean.csv`), quarantine: path.join(dir, `${tag}-q.csv`) });
    const common = { ...opts, format: 'json', failOn: 'medium' as const, color: false };
    const a = await runDatasetScan([csv], { ...common, ...out('whole') });
    const b = await runDatasetScan([csv], { ...common, ...out('chunked'), chunkRows: 9 });
    expect(b.split).toEqual(a.split);
    expect(readFileSync(path.join(dir, 'chunked-q.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'whole-q.csv'), 'utf8'));
    expect(readFileSync(path.join(dir, 'chunked-clean.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'whole-clean.csv'), 'utf8'));
    const k = await runDatasetScan([csv], { ...common, noNeighbours: false, chunkRows: 100 });
    expect(k.skipped).toEqual(['RMP-DATA-012', 'RMP-DATA-020', 'RMP-DATA-011 (near duplicates)']);
    await expect(scanDatasetChunked(csv, { ...opts, chunkRows: 10, embeddings: csv })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
  });
});
