// The ingest guard's stream checks: repeats and conflicting-label repeats (RMP-DATA-010/011), the
// multivariate distance against the baseline (RMP-DATA-031), baselines written before the
// multivariate model existed, and a drift of the class balance of the stream (RMP-DATA-007).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, normal } from '../detect/random.js';
import { buildBaseline, readBaseline, writeBaseline, type DatasetBaseline } from './baseline.js';
import { createIngestGuard } from './ingest-guard.js';
import { featureHash, RecentRecords } from './ingest-stream.js';
import { readDataset } from './read-dataset.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-ingest-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** x ~ N(0,1), y = x + 0.1·N(0,1) (strongly correlated), w ~ N(0,1), label a/b 50/50. */
function sample(r: () => number): { x: number; y: number; w: number; label: string } {
  const x = normal(r);
  return { x: +x.toFixed(4), y: +(x + 0.1 * normal(r)).toFixed(4), w: +normal(r).toFixed(4), label: r() < 0.5 ? 'a' : 'b' };
}

let baseline: DatasetBaseline;
let file: string;

beforeAll(async () => {
  const r = mulberry32(7);
  const lines = ['x,y,w,label'];
  for (let i = 0; i < 3000; i++) {
    const s = sample(r);
    lines.push(`${s.x},${s.y},${s.w},${s.label}`);
  }
  const csv = path.join(dir, 'base.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  baseline = buildBaseline(await readDataset(csv, { label: 'label' }), 'label');
  file = path.join(dir, 'base.json');
  writeBaseline(file, baseline);
});

const ids = (v: { findings: { ruleId: string }[] }) => v.findings.map((f) => f.ruleId).sort();

describe('repeats (RMP-DATA-010 / RMP-DATA-011)', () => {
  it('flags a repeated record, quarantines the same features with another label, whatever the key order', () => {
    const g = createIngestGuard(readBaseline(file));
    expect(g.check({ x: 0.1, y: 0.12, w: -0.3, label: 'a' })).toEqual({ accepted: true, findings: [] });
    const again = g.check({ w: -0.3, label: 'a', y: 0.12, x: 0.1 });
    expect(ids(again)).toEqual(['RMP-DATA-010']);
    expect(again.accepted).toBe(true); // low: flagged, not quarantined at the default quarantineAt
    const conflict = g.check({ x: 0.1, y: 0.12, w: -0.3, label: 'b' });
    expect(ids(conflict)).toEqual(['RMP-DATA-011']);
    expect(conflict.accepted).toBe(false);
    // The answer never names the other record's label.
    expect(conflict.findings[0]!.message).not.toMatch(/"a"|label a\b/);
    // A quarantined record is not remembered: the same record again is a conflict once more, not a repeat.
    expect(ids(g.check({ x: 0.1, y: 0.12, w: -0.3, label: 'b' }))).toEqual(['RMP-DATA-011']);
    // With quarantineAt low, the repeat is quarantined too.
    const strict = createIngestGuard(baseline, { quarantineAt: 'low' });
    strict.check({ x: 0.5, y: 0.5, w: 0, label: 'b' });
    expect(strict.check({ x: 0.5, y: 0.5, w: 0, label: 'b' }).accepted).toBe(false);
  });

  it('keeps a bounded memory (least recently seen evicted) and can be turned off', () => {
    const g = createIngestGuard(baseline, { recentRecords: 2 });
    const rec = (x: number) => ({ x, y: x, w: 0, label: 'a' });
    for (const x of [0.1, 0.2, 0.3]) g.check(rec(x));
    expect(ids(g.check(rec(0.1)))).toEqual([]); // evicted
    expect(ids(g.check(rec(0.3)))).toEqual(['RMP-DATA-010']);
    const off = createIngestGuard(baseline, { recentRecords: 0 });
    off.check(rec(0.1));
    expect(ids(off.check(rec(0.1)))).toEqual([]);
    const m = new RecentRecords(3);
    for (let i = 0; i < 10; i++) m.remember(String(i), 'a');
    expect(m.size).toBe(3);
    expect(featureHash({ a: 1, b: 'x', label: 'p' }, 'label')).toBe(featureHash({ label: 'q', b: 'x', a: 1 }, 'label'));
    expect(featureHash({ a: 1 }, undefined)).not.toBe(featureHash({ a: '1' }, undefined));
  });
});

describe('multivariate distance (RMP-DATA-031)', () => {
  it('flags a record in range on every feature but against the correlation, and ≤ 1% of 1,000 clean records', () => {
    expect(baseline.multivariate?.features).toEqual(['x', 'y', 'w']);
    expect(readBaseline(file).multivariate).toEqual(JSON.parse(readFileSync(file, 'utf8')).multivariate);
    const g = createIngestGuard(readBaseline(file), { recentRecords: 0, labelBalance: false });
    // x and y move together in the baseline; here they go opposite ways, each ~1.5 SD out.
    const odd = g.check({ x: 1.5, y: -1.5, w: 0, label: 'a' });
    expect(ids(odd)).toEqual(['RMP-DATA-031']);
    expect(odd.accepted).toBe(false);
    expect(ids(g.check({ x: 1.5, y: 1.5, w: 0, label: 'a' }))).toEqual([]);
    const r = mulberry32(99);
    let flagged = 0;
    for (let i = 0; i < 1000; i++) if (g.check(sample(r)).findings.length) flagged++;
    expect(flagged).toBeLessThanOrEqual(10);
    // A record already flagged per feature gets no distance finding on top.
    expect(ids(g.check({ x: 100, y: 0, w: 0, label: 'a' }))).toEqual(['RMP-DATA-004', 'RMP-DATA-030']);
  });

  it('reads a baseline written before the multivariate model existed and skips the check', () => {
    const old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete old.multivariate;
    const oldFile = path.join(dir, 'old.json');
    writeFileSync(oldFile, JSON.stringify(old));
    const b = readBaseline(oldFile);
    expect(b.multivariate).toBeUndefined();
    const g = createIngestGuard(b);
    expect(g.check({ x: 1.5, y: -1.5, w: 0, label: 'a' })).toEqual({ accepted: true, findings: [] });
    expect(ids(g.check({ x: 1.5, y: -1.5, w: 0, label: 'a' }))).toEqual(['RMP-DATA-010']);
  });

  it('refuses a multivariate model whose arrays do not match its features', () => {
    const bad = JSON.parse(readFileSync(file, 'utf8')) as { multivariate: { chol: number[] } };
    bad.multivariate.chol.pop();
    const badFile = path.join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify(bad));
    expect(() => readBaseline(badFile)).toThrow(expect.objectContaining({ code: 'RAMPART_ERR_DATASET_BASELINE_INVALID' }));
  });
});

describe('class balance of the stream (RMP-DATA-007)', () => {
  it('stays quiet on a balanced stream and flags a burst of one class, a few times, without quarantining', () => {
    const g = createIngestGuard(baseline, { recentRecords: 0 });
    const r = mulberry32(5);
    let flags = 0;
    for (let i = 0; i < 1000; i++) if (ids(g.check(sample(r))).includes('RMP-DATA-007')) flags++;
    expect(flags).toBe(0);
    const burst: { accepted: boolean; findings: { ruleId: string; message: string }[] }[] = [];
    for (let i = 0; i < 400; i++) burst.push(g.check({ ...sample(r), label: 'b' }));
    const hits = burst.map((v, i) => [i, v] as const).filter(([, v]) => v.findings.some((f) => f.ruleId === 'RMP-DATA-007'));
    expect(hits.length).toBeGreaterThanOrEqual(1);
    expect(hits.length).toBeLessThanOrEqual(4); // one per 100 accepted labels at most
    expect(hits[0]![0]).toBeLessThan(120);
    expect(hits.every(([, v]) => v.accepted)).toBe(true);
    expect(hits[0]![1].findings.find((f) => f.ruleId === 'RMP-DATA-007')!.message).toMatch(/class "b"/);
    // Turned off, or on a baseline without class balance: nothing.
    const off = createIngestGuard(baseline, { recentRecords: 0, labelBalance: false });
    let n = 0;
    for (let i = 0; i < 400; i++) n += off.check({ ...sample(r), label: 'b' }).findings.length;
    expect(n).toBeLessThanOrEqual(4);
  });
});
