import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getReporter } from '../report/index.js';
import { getRule } from '../scan/rules.js';
import { buildBaseline, writeBaseline } from './baseline.js';
import { readDataset } from './read-dataset.js';
import { runDatasetScan } from './run-dataset-scan.js';
import { scanDatasetFile } from './scan-dataset.js';
import { npyBytes, rng } from './testing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-dsscan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** 3 separable classes × 100 rows, 4 features, 3 sources; returns CSV lines (without header). */
function cleanRows(seed: number): string[] {
  const r = rng(seed);
  const centres = [
    [0, 0, 0, 0],
    [10, 10, 0, 0],
    [0, 10, 10, 10],
  ];
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    const f = centres[c]!.map((m) => (m + gauss(r)).toFixed(3));
    lines.push(`${i},${f.join(',')},c${c},s${Math.floor(i / 7) % 3}`);
  }
  return lines;
}
const HEADER = 'id,f0,f1,f2,f3,label,src';

function writeCsv(name: string, lines: string[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, [HEADER, ...lines].join('\n') + '\n');
  return p;
}

const opts = { label: 'label', id: 'id', source: 'src', version: 'test' };
const key = (f: { ruleId: string; location?: { row?: number } }) => `${f.ruleId}@${f.location?.row ?? '-'}`;

describe('scanDatasetFile', () => {
  it('finds nothing at or above medium on clean data', async () => {
    const r = await scanDatasetFile(writeCsv('clean.csv', cleanRows(1)), opts);
    expect(r.report.findings.filter((f) => f.severity !== 'info' && f.severity !== 'low').map(key)).toEqual([]);
  });

  it('reports exactly the planted problems, with rows and lines', async () => {
    const rows = cleanRows(1);
    rows[10] = rows[10]!.replace(/,c1,/, ',c2,'); // flipped label (row 10 is class 1)
    rows[20] = '20,1,2,abc,3,c2,s0'; // type error
    rows[30] = '30,1,2,3'; // malformed (short)
    rows[40] = rows[40]!.replace(/^40,[^,]+/, '40,400'); // extreme value
    // Row 20's missing value is imputed, so it also looks like class c0: a label issue too. Row 51
    // is a copy of row 50 (class c2) labelled c0: conflicting duplicate and label issue.
    rows[51] = rows[50]!.replace(/^50,/, '51,').replace(/,c2,/, ',c0,'); // copy of row 50 with another label
    const r = await scanDatasetFile(writeCsv('bad.csv', rows), opts);
    const got = r.report.findings.filter((f) => f.severity !== 'info' && f.severity !== 'low').map(key).sort();
    expect(got).toEqual(['RMP-DATA-001@30', 'RMP-DATA-002@20', 'RMP-DATA-011@50', 'RMP-DATA-011@51', 'RMP-DATA-020@10', 'RMP-DATA-020@20', 'RMP-DATA-020@51', 'RMP-DATA-031@40'].sort());
    const flip = r.report.findings.find((f) => f.ruleId === 'RMP-DATA-020' && f.location?.row === 10)!;
    expect(flip.location).toEqual({ row: 10, line: 12, record: '10' });
    expect(flip.details).toMatchObject({ given: 'c2', likely: 'c1' });
    // SARIF points at the line and carries the 0-based row.
    const sarif = JSON.parse(getReporter('sarif').render(r.report, { color: false, rules: getRule })) as {
      runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[]; properties: { row?: number } }[] }[];
    };
    const res = sarif.runs[0]!.results.find((x) => x.ruleId === 'RMP-DATA-020' && x.properties.row === 10)!;
    expect(res.locations[0]!.physicalLocation.region.startLine).toBe(12);
    expect(res.properties.row).toBe(10);
  });

  it('picks the feature scaling under which neighbours agree with the labels (auto)', async () => {
    // Three classes 6 units apart in f0/f1 (unit noise), plus 30 features of small jitter on the
    // same scale (SD 0.05), unrelated to the class. z-scoring blows the jitter up to the classes'
    // scale and drowns their structure; the raw features keep it.
    const r = rng(21);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const c = i % 3;
      const f = [6 * (c % 2) + gauss(r), 6 * (c >> 1) + gauss(r)].map((v) => v.toFixed(3));
      const flags = Array.from({ length: 30 }, () => (0.05 * gauss(r)).toFixed(4));
      lines.push(`${i},${f.join(',')},${flags.join(',')},c${c},s0`);
    }
    const p = path.join(dir, 'sparse.csv');
    writeFileSync(p, [`id,f0,f1,${Array.from({ length: 30 }, (_, j) => `g${j}`).join(',')},label,src`, ...lines].join('\n') + '\n');
    const labelErrors = async (featureScale?: 'standard' | 'none' | 'auto') =>
      (await scanDatasetFile(p, { ...opts, ...(featureScale ? { featureScale } : {}) })).report.findings.filter((f) => f.ruleId === 'RMP-DATA-020').length;
    const none = await labelErrors('none');
    expect(await labelErrors()).toBe(none);
    expect(await labelErrors('standard')).toBeGreaterThan(none + 2);
  });

  it('checks schema, ranges, unseen labels and class balance against a baseline', async () => {
    const base = await readDataset(writeCsv('base.csv', cleanRows(2)), opts);
    const bfile = path.join(dir, 'base.json');
    writeBaseline(bfile, buildBaseline(base, 'label'));
    const rows = cleanRows(3);
    rows[5] = rows[5]!.replace(/^5,[^,]+/, '5,25'); // out of range but not extreme in this file
    rows[6] = rows[6]!.replace(/,c0,/, ',c9,');
    // Grow class c0 by relabelling half of c1 (also label noise; only balance is asserted here).
    for (let i = 1; i < 300; i += 6) rows[i] = rows[i]!.replace(/,c1,/, ',c0,');
    const r = await scanDatasetFile(writeCsv('shift.csv', rows), { ...opts, dataBaseline: bfile, noNeighbours: true });
    const ids = r.report.findings.map(key);
    expect(ids).toContain('RMP-DATA-004@5');
    // Rows whose bytes are not in the baseline's manifest are marked (ids match, content differs).
    expect(r.report.findings.find((f) => f.ruleId === 'RMP-DATA-004')!.details).toMatchObject({ newSinceBaseline: true });
    expect(ids).toContain('RMP-DATA-006@6');
    expect(ids).toContain('RMP-DATA-005@-');
    expect(ids.filter((x) => x.startsWith('RMP-DATA-003'))).toEqual([]);
  });

  it('scores the one bad supplier', async () => {
    const rows = cleanRows(4);
    const r0 = rng(11);
    // Source s1 flips a third of its labels.
    for (let i = 0; i < 300; i++) if (rows[i]!.endsWith(',s1') && r0() < 0.35) rows[i] = rows[i]!.replace(/,c(\d),s1$/, (_, c: string) => `,c${(Number(c) + 1) % 3},s1`);
    const r = await scanDatasetFile(writeCsv('src.csv', rows), opts);
    expect(r.report.findings.filter((f) => f.ruleId === 'RMP-DATA-050').map((f) => f.details?.source)).toEqual(['s1']);
  });
});

describe('scanDatasetFile: every row rule by its id', () => {
  it('reports exact (RMP-DATA-010) and near (RMP-DATA-012) duplicates and a per-feature outlier (RMP-DATA-030) on the right rows', async () => {
    const rows = cleanRows(5);
    rows[61] = rows[60]!.replace(/^60,/, '61,'); // exact copy of row 60, same label
    rows[72] = rows[69]!.replace(/^69,/, '72,').replace(/,(-?\d+\.\d+),c/, (_, v: string) => `,${(Number(v) + 0.001).toFixed(3)},c`); // row 69 moved by 0.001
    rows[80] = rows[80]!.replace(/^80,[^,]+/, '80,900'); // one value far out
    const r = await scanDatasetFile(writeCsv('dups.csv', rows), opts);
    const rowsOf = (id: string) => r.report.findings.filter((f) => f.ruleId === id).map((f) => f.location?.row);
    expect(rowsOf('RMP-DATA-010')).toEqual([61]);
    expect(r.report.findings.find((f) => f.ruleId === 'RMP-DATA-010')!.details).toEqual({ of: 60 });
    // (Info: 012 also lists clean rows that happen to be close in these scaled units; only row 72 is planted.)
    expect(r.report.findings.find((f) => f.ruleId === 'RMP-DATA-012' && f.location?.row === 72)!.details).toMatchObject({ of: 69, distance: 0 });
    expect(rowsOf('RMP-DATA-030')).toEqual([80]);
    expect(r.report.findings.find((f) => f.ruleId === 'RMP-DATA-030')!.details).toMatchObject({ column: 'f0', value: 900 });
  });

  it('reports a backdoor cluster from an embeddings file (RMP-DATA-041, RMP-DATA-040) and no clean class', async () => {
    // 15 inputs of classes c0 and c2 relabelled c1; in the embeddings they form their own small
    // cluster inside c1 (what a model trained on the poisoned data learns for the trigger).
    const rows = cleanRows(6);
    const poisoned = Array.from({ length: 15 }, (_, k) => (k % 2 ? 3 * (10 + k) : 3 * (10 + k) + 2));
    for (const i of poisoned) rows[i] = rows[i]!.replace(/,c[02],/, ',c1,');
    const r = rng(17);
    const k = 6;
    const E = new Float64Array(300 * k);
    const pset = new Set(poisoned);
    for (let i = 0; i < 300; i++) {
      const label = pset.has(i) ? 1 : i % 3;
      for (let j = 0; j < k; j++) E[i * k + j] = (j === label ? 8 : 0) + (pset.has(i) && j === 5 ? 6 : 0) + gauss(r);
    }
    const emb = path.join(dir, 'emb.npy');
    writeFileSync(emb, npyBytes([300, k], E));
    const res = await scanDatasetFile(writeCsv('bd.csv', rows), { ...opts, embeddings: emb });
    const rowsOf = (id: string) => res.report.findings.filter((f) => f.ruleId === id).map((f) => f.location!.row!).sort((a, b) => a - b);
    expect(rowsOf('RMP-DATA-041')).toEqual([...poisoned].sort((a, b) => a - b));
    expect(res.report.findings.find((f) => f.ruleId === 'RMP-DATA-041')!.details).toMatchObject({ label: 'c1', clusterSize: 15 });
    const spectral = rowsOf('RMP-DATA-040');
    expect(spectral.length).toBeGreaterThanOrEqual(12);
    expect(spectral.every((i) => pset.has(i))).toBe(true);
  });
});

describe('runDatasetScan', () => {
  it('splits rows into clean and quarantine files and exits 1 at --fail-on', async () => {
    const rows = cleanRows(1);
    rows[20] = '20,1,2,abc,3,c2,s0';
    rows[10] = rows[10]!.replace(/,c1,/, ',c2,');
    const p = writeCsv('split.csv', rows);
    const clean = path.join(dir, 'clean-out.csv');
    const quarantine = path.join(dir, 'q-out.csv');
    const r = await runDatasetScan([p], { ...opts, format: 'json', failOn: 'medium', color: false, writeClean: clean, quarantine });
    expect(r.exitCode).toBe(1);
    const q = readFileSync(quarantine, 'utf8').trim().split('\n');
    expect(q).toEqual([HEADER, rows[10], rows[20]]);
    const c = readFileSync(clean, 'utf8').trim().split('\n');
    expect(c.length).toBe(1 + 298);
    expect(c[0]).toBe(HEADER);
    // Temporary names are NAME.PID-RANDOM.tmp (core/replace-file.ts): none may remain.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
