// Cost of the training-data ingestion guard per record (issue 7, the gateway's
// POST /v1/datasets/{name}/records route): a baseline built from generated rows (50 numeric features,
// two of them strongly correlated, 10 classes), then clean records checked one by one through
// createIngestGuard with every check on (schema, range, robust z, repeats, Mahalanobis, class balance).
// Usage (after `npm run build`): node bench/ingest.mjs [--rows 20000] [--records 200000] [--features 50]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataset } from '../dist/dataset/read-dataset.js';
import { buildBaseline } from '../dist/dataset/baseline.js';
import { createIngestGuard } from '../dist/dataset/ingest-guard.js';
import { mulberry32, normal } from '../dist/detect/random.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return Number(i >= 0 ? args[i + 1] : def);
};
const ROWS = opt('rows', 20_000);
const RECORDS = opt('records', 200_000);
const F = opt('features', 50);
const rand = mulberry32(7);

function row() {
  const x = Array.from({ length: F }, () => normal(rand));
  x[1] = 0.95 * x[0] + 0.3 * normal(rand);
  return { x, label: `c${Math.floor(rand() * 10)}` };
}

const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-ingest-'));
try {
  const header = [...Array.from({ length: F }, (_, j) => `f${j}`), 'label'].join(',');
  const lines = [header];
  for (let i = 0; i < ROWS; i++) {
    const r = row();
    lines.push([...r.x.map((v) => v.toFixed(5)), r.label].join(','));
  }
  writeFileSync(join(dir, 'trusted.csv'), `${lines.join('\n')}\n`);
  const ds = await readDataset(join(dir, 'trusted.csv'), { label: 'label' });
  const t0 = process.cpuUsage();
  const baseline = buildBaseline(ds, 'label');
  const buildMs = (process.cpuUsage(t0).user + process.cpuUsage(t0).system) / 1000;
  const guard = createIngestGuard(baseline);
  const record = () => {
    const r = row();
    const rec = { label: r.label };
    r.x.forEach((v, j) => (rec[`f${j}`] = Number(v.toFixed(5))));
    return rec;
  };
  // Warm-up on records of its own (a record checked twice is a repeat), then the timed records.
  for (let i = 0; i < 5_000; i++) guard.check(record());
  const records = Array.from({ length: RECORDS }, record);
  let flagged = 0;
  let quarantined = 0;
  const lat = [];
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    const t = performance.now();
    const v = guard.check(records[i]);
    lat.push(performance.now() - t);
    if (v.findings.length) flagged++;
    if (!v.accepted) quarantined++;
  }
  const wall = performance.now() - w0;
  const cpu = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 1000;
  process.stdout.write(
    `${JSON.stringify({
      date: new Date().toISOString(),
      baselineRows: ROWS,
      features: F,
      multivariate: Boolean(baseline.multivariate),
      baselineBuildCpuMs: Math.round(buildMs),
      records: RECORDS,
      recordsPerSecond: Math.round(RECORDS / (wall / 1000)),
      cpuUsPerRecord: Number(((cpu.user + cpu.system) / RECORDS).toFixed(1)),
      p50Us: Number(q(0.5).toFixed(1)),
      p99Us: Number(q(0.99).toFixed(1)),
      flaggedShare: Number((flagged / RECORDS).toFixed(4)),
      quarantinedShare: Number((quarantined / RECORDS).toFixed(4)),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
