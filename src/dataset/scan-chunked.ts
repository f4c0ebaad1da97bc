// Chunked dataset scan (`--chunk-rows N`): for data whose table does not fit in memory. The file is
// read twice, N rows at a time, and only what the checks need per row is kept (about 60 bytes: line,
// byte span, a 64-bit feature hash, label and source index, distance score, severity), plus a
// seeded sample of rows for the statistics that need many rows at once.
//   Pass 1: schema and types, range and unseen labels against the baseline, class counts, feature
//           hashes (exact and conflicting duplicates), the reservoir sample (Algorithm R).
//   Between: robust per-feature centre and scale and the robust covariance, fitted on the sample
//            (the whole data when it has at most `sampleRows` rows: then every finding equals the
//            in-memory scan's), and the standardiser of the distance scores.
//   Pass 2: per-feature outliers, each row's robust distance; then the multivariate cut over every
//           row's score, and provenance.
// The k-NN checks (near duplicates, label errors) and the backdoor checks need every row at once and
// are not run (`skipped`). NumPy and Parquet files are read whole, as one chunk.
import { UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { severityRank, type Finding, type Severity } from '../core/types.js';
import { balanceShift, outOfRange } from '../detect/dataset/column-profile.js';
import { hashRows } from '../detect/dataset/duplicates.js';
import { sourceStats } from '../detect/dataset/provenance.js';
import { cutOutliers, distanceScores, distanceStandardiser, featureOutliers, fitMahalanobis, mahalanobisD2, robustScale, type FeatureScale, type MahalanobisModel } from '../detect/dataset/robust-outliers.js';
import { column, mulberry32, normalSf } from '../detect/dataset/stats.js';
import { getRule } from '../scan/rules.js';
import type { ScanReport } from '../scan/types.js';
import { readBaseline, rowDiffer, type DatasetBaseline } from './baseline.js';
import { readDataset } from './read-dataset.js';
import { fmtRows, pct, round, sourceFinding } from './finding-format.js';
import './rules.js';
import type { DatasetScanOptions, DatasetScanResult } from './scan-dataset.js';
import type { ColumnInfo, Dataset } from './types.js';

export interface ChunkedScanOptions extends DatasetScanOptions {
  /** Rows read and checked at a time. */
  chunkRows: number;
  /** Rows kept for the robust statistics (default 50,000). */
  sampleRows?: number;
}

export interface ChunkedScanResult extends DatasetScanResult {
  /** Checks not run in a chunked scan (they need every row in memory). */
  skipped: string[];
}

/** Growable typed arrays (the row count is unknown until the end of pass 1). */
class Grow<T extends Float64Array | Uint32Array | Int32Array | Uint8Array | Int8Array> {
  a: T;
  n = 0;
  constructor(private readonly make: (size: number) => T) {
    this.a = make(1024);
  }
  reserve(m: number): void {
    if (this.n + m <= this.a.length) return;
    let cap = this.a.length * 2;
    while (cap < this.n + m) cap *= 2;
    const next = this.make(cap);
    next.set(this.a);
    this.a = next;
  }
  push(v: number): void {
    this.reserve(1);
    this.a[this.n++] = v;
  }
}

async function eachChunk(file: string, o: ChunkedScanOptions, onChunk: (c: Dataset) => void): Promise<void> {
  let text = false;
  const last = await readDataset(file, {
    ...o,
    chunkRows: o.chunkRows,
    onChunk: (c) => {
      text = true;
      onChunk(c);
    },
  });
  if (!text) onChunk(last); // NumPy, Parquet: one chunk
}

/** Scans a dataset file in chunks of `chunkRows` rows (see the module comment). */
export async function scanDatasetChunked(file: string, o: ChunkedScanOptions, logger?: Logger): Promise<ChunkedScanResult> {
  if (o.embeddings) throw new UsageError('--embeddings (backdoor checks) needs every row in memory; it cannot be combined with --chunk-rows');
  if (!(Number.isInteger(o.chunkRows) && o.chunkRows >= 1)) throw new UsageError('--chunk-rows must be a positive integer');
  const started = Date.now();
  const timings: Record<string, number> = {};
  const baseline: DatasetBaseline | undefined = o.dataBaseline ? readBaseline(o.dataBaseline) : undefined;
  const max = o.maxFindingsPerRule ?? 10_000;
  const seed = o.seed ?? 1;
  const S = o.sampleRows ?? 50_000;

  const findings: Finding[] = [];
  const perRule = new Map<string, number>();
  const dropped = new Map<string, number>();
  const severity = new Grow((k) => new Int8Array(k));
  const fresh = new Grow((k) => new Uint8Array(k));
  const lines = new Grow((k) => new Uint32Array(k));
  const spans = new Grow((k) => new Float64Array(k));
  const h1 = new Grow((k) => new Uint32Array(k));
  const h2 = new Grow((k) => new Uint32Array(k));
  const labelOf = new Grow((k) => new Int32Array(k));
  const sourceOf = new Grow((k) => new Int32Array(k));
  const labelIds = new Map<string, number>();
  const sourceIds = new Map<string, number>();
  /** Findings of pass 1 and in between whose row id is filled in pass 2. */
  const needId = new Map<number, Finding[]>();

  const add = (ruleId: string, message: string, row: number | undefined, details?: Record<string, unknown>, sev?: Severity, record?: string): Finding | undefined => {
    const rule = getRule(ruleId)!;
    const s = sev ?? rule.severity;
    if (row !== undefined && ruleId !== 'RMP-DATA-050') severity.a[row] = Math.max(severity.a[row]!, severityRank(s));
    const c = perRule.get(ruleId) ?? 0;
    if (c >= max) {
      dropped.set(ruleId, (dropped.get(ruleId) ?? 0) + 1);
      return undefined;
    }
    perRule.set(ruleId, c + 1);
    const f: Finding = { ruleId, severity: s, file, message, remediation: rule.remediation };
    if (row !== undefined) {
      f.location = { row };
      if (first?.lines) f.location.line = lines.a[row]!;
      if (record !== undefined) f.location.record = record;
    }
    if (details) f.details = details;
    if (row !== undefined && fresh.a[row]) f.details = { ...(f.details ?? {}), newSinceBaseline: true };
    findings.push(f);
    return f;
  };
  const later = (f: Finding | undefined, row: number) => {
    if (!f || !first?.ids) return;
    const l = needId.get(row);
    if (l) l.push(f);
    else needId.set(row, [f]);
  };

  // ---- pass 1
  let first: Dataset | undefined;
  const seen = new Map<string, ColumnInfo>();
  let n = 0;
  let d = 0;
  let sample = new Float64Array(0);
  let m = 0;
  const rnd = mulberry32(seed);
  const differ = baseline ? rowDiffer(baseline.manifest) : undefined;
  const labelCounts: Record<string, number> = {};
  const knownLabels = baseline?.classBalance ? new Set(Object.keys(baseline.classBalance)) : undefined;
  const profiles = baseline ? new Map(baseline.columns.map((c) => [c.name, c.profile])) : undefined;
  let t = performance.now();
  await eachChunk(file, o, (c) => {
    if (!first) {
      first = c;
      d = c.d;
      sample = new Float64Array(S * d);
    }
    for (const col of c.columns) if (!seen.has(col.name)) seen.set(col.name, col);
    const off = n;
    const k = c.n;
    for (const r of [severity, fresh, lines, h1, h2, labelOf, sourceOf]) r.reserve(k);
    spans.reserve(2 * k);
    severity.a.fill(-1, off, off + k);
    if (c.lines) lines.a.set(c.lines, off);
    if (c.spans) spans.a.set(c.spans, 2 * off);
    hashRows(c.X, k, d, h1.a, h2.a, off);
    for (let i = 0; i < k; i++) {
      if (differ) fresh.a[off + i] = differ(c.ids?.[i], c.rowHashes[i]!) ? 1 : 0;
      const l = c.labels?.[i];
      let li = -1;
      if (l !== undefined && l !== '') {
        li = labelIds.get(l) ?? labelIds.size;
        labelIds.set(l, li);
        labelCounts[l] = (labelCounts[l] ?? 0) + 1;
      }
      labelOf.a[off + i] = li;
      const src = c.sources?.[i];
      let si = -1;
      if (src !== undefined) {
        si = sourceIds.get(src) ?? sourceIds.size;
        sourceIds.set(src, si);
      }
      sourceOf.a[off + i] = si;
      // Reservoir sample (Algorithm R) of feature rows.
      const g = off + i;
      const slot = g < S ? g : Math.floor(rnd() * (g + 1));
      if (slot < S) sample.set(c.X.subarray(i * d, i * d + d), slot * d);
    }
    for (const r of [severity, fresh, lines, h1, h2, labelOf, sourceOf]) r.n = off + k;
    spans.n = 2 * (off + k);
    n = off + k;
    m = Math.min(n, S);
    const id = (i: number) => c.ids?.[i];
    for (const x of c.malformedRows) add('RMP-DATA-001', x.fields === 0 ? 'row is not a JSON object' : `row has ${x.fields} fields, expected ${x.expected}`, off + x.row, { fields: x.fields, expected: x.expected }, undefined, id(x.row));
    for (const x of c.typeErrors) add('RMP-DATA-002', `non-numeric value in numeric column ${x.column}`, off + x.row, { column: x.column, value: x.value }, undefined, id(x.row));
    if (profiles) {
      c.featureNames.forEach((name, j) => {
        const p = profiles.get(name);
        if (!p) return;
        for (const x of outOfRange(column(c.X, k, d, j), p)) add('RMP-DATA-004', `${name} = ${x.value} is outside the baseline range [${p.min}, ${p.max}]`, off + x.row, { column: name, value: x.value, min: p.min, max: p.max }, undefined, id(x.row));
      });
    }
    if (knownLabels && c.labels) {
      c.labels.forEach((l, i) => {
        if (l !== '' && !knownLabels.has(l)) add('RMP-DATA-006', `label ${JSON.stringify(l)} is not in the baseline`, off + i, { label: l }, undefined, id(i));
      });
    }
  });
  timings.pass1 = performance.now() - t;
  if (!first) throw new Error('unreachable: a reader returned no chunk');
  const ds0: Dataset = first;

  // ---- between passes
  t = performance.now();
  if (baseline) {
    for (const col of baseline.columns) {
      const cur = seen.get(col.name);
      if (!cur) add('RMP-DATA-003', `column ${col.name} of the baseline is missing`, undefined, { column: col.name });
      else if (col.kind !== 'empty' && cur.kind !== 'empty' && col.kind !== cur.kind) add('RMP-DATA-003', `column ${col.name} changed type from ${col.kind} to ${cur.kind}`, undefined, { column: col.name, was: col.kind, now: cur.kind });
    }
    const then = new Set(baseline.columns.map((col) => col.name));
    for (const name of seen.keys()) if (!then.has(name)) add('RMP-DATA-003', `column ${name} is not in the baseline`, undefined, { column: name });
    if (baseline.classBalance && ds0.labels) {
      const s = balanceShift(baseline.classBalance, labelCounts);
      if (s.pValue < 1e-3 && s.maxAbsChange >= 0.05) {
        add('RMP-DATA-005', `class balance shifted by up to ${(100 * s.maxAbsChange).toFixed(1)} points (chi-square p = ${s.pValue.toExponential(2)})`, undefined, {
          chi2: round(s.chi2),
          pValue: s.pValue,
          classes: s.classes.map((x) => ({ label: x.label, baseline: round(x.baseline), current: round(x.current) })),
        });
      }
    }
  }
  // Exact duplicates: rows sorted by their 64-bit feature hash; equal hashes form a group.
  const labelNames = [...labelIds.keys()];
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => h1.a[a]! - h1.a[b]! || h2.a[a]! - h2.a[b]! || a - b);
  const groups: number[][] = [];
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && h1.a[order[e]!] === h1.a[order[s]!] && h2.a[order[e]!] === h2.a[order[s]!]) e++;
    if (e - s > 1) groups.push(Array.from(order.subarray(s, e)));
    s = e;
  }
  groups.sort((a, b) => a[0]! - b[0]!);
  for (const rows of groups) {
    const labels = ds0.labels ? [...new Set(rows.map((r) => (labelOf.a[r]! >= 0 ? labelNames[labelOf.a[r]!]! : '')))].sort() : undefined;
    const conflicting = (labels?.length ?? 0) > 1;
    for (const row of rows.slice(conflicting ? 0 : 1)) {
      if (conflicting) later(add('RMP-DATA-011', `rows ${fmtRows(rows)} have identical features but labels ${labels!.join(', ')}`, row, { rows: rows.slice(0, 20), labels }), row);
      else later(add('RMP-DATA-010', `duplicate of row ${rows[0]}`, row, { of: rows[0] }), row);
    }
  }
  timings.duplicates = performance.now() - t;
  t = performance.now();
  const Xs = sample.subarray(0, m * d);
  const scale: FeatureScale = robustScale(Xs, m, d);
  const model: MahalanobisModel | undefined = fitMahalanobis(Xs, m, d, scale, { seed });
  const st = model ? distanceStandardiser(mahalanobisD2(model, Xs, m, d, scale), model.p) : undefined;
  timings.fit = performance.now() - t;

  // ---- pass 2
  t = performance.now();
  const rate = o.outlierRate ?? 0.005;
  const score = new Float64Array(n);
  const candidates = new Map<number, { d2: number; id: string | undefined }>();
  let off = 0;
  await eachChunk(file, o, (c) => {
    const k = c.n;
    for (const f of featureOutliers(c.X, k, d, scale, 10)) {
      add('RMP-DATA-030', `${ds0.featureNames[f.feature]} = ${f.value} is ${Number.isFinite(f.z) ? `${round(f.z)} robust SDs from its median` : 'different from a constant column'}`, off + f.row, {
        column: ds0.featureNames[f.feature],
        value: f.value,
        z: Number.isFinite(f.z) ? round(f.z) : null,
      }, undefined, c.ids?.[f.row]);
    }
    if (model && st) {
      const d2 = mahalanobisD2(model, c.X, k, d, scale);
      const sc = distanceScores(d2, model.p, st);
      score.set(sc, off);
      for (let i = 0; i < k; i++) if (normalSf(sc[i]!) <= rate) candidates.set(off + i, { d2: d2[i]!, id: c.ids?.[i] });
    }
    if (c.ids) for (let i = 0; i < k; i++) for (const f of needId.get(off + i) ?? []) f.location!.record = c.ids[i]!;
    off += k;
  });
  timings.pass2 = performance.now() - t;
  const cut = cutOutliers(score, rate);
  const info = { quantileThreshold: round(cut.quantileThreshold), tailThreshold: round(cut.tailThreshold) };
  const rows = [...cut.strong.map((i) => [i, 1] as const), ...cut.weak.map((i) => [i, 0] as const)].sort((a, b) => a[0] - b[0]);
  for (const [i, strong] of rows) {
    const msg = strong
      ? `robust distance score ${round(score[i]!)}: among the ${pct(rate)} most distant rows and significant (Benjamini–Hochberg)`
      : `robust distance score ${round(score[i]!)}: beyond the extrapolated tail threshold ${round(cut.tailThreshold)} but outside the ${pct(rate)} most distant rows`;
    const cand = candidates.get(i);
    add('RMP-DATA-031', msg, i, { score: round(score[i]!), d2: round(cand?.d2 ?? NaN), ...info }, strong ? 'medium' : 'low', cand?.id);
  }
  if (ds0.sources) {
    const flagged = Uint8Array.from(severity.a.subarray(0, n), (s) => (s >= severityRank('medium') ? 1 : 0));
    const sourceNames = [...sourceIds.keys()];
    const sources = Array.from(sourceOf.a.subarray(0, n), (s) => sourceNames[s]!);
    const y = labelOf.a.subarray(0, n);
    for (const s of sourceStats(sources, flagged, ds0.labels ? y : undefined, labelNames.length)) {
      if (!s.suspicious) continue;
      const f = sourceFinding(s);
      add('RMP-DATA-050', f.message, undefined, f.properties);
    }
  }
  for (const [ruleId, count] of dropped) findings.push({ ruleId, severity: getRule(ruleId)!.severity, file, message: `${count} more findings of this rule not listed (limit ${max} per rule)`, details: { notListed: count } });
  logger?.debug({ n, chunks: Math.ceil(n / o.chunkRows), sample: m, timings }, 'chunked dataset scan');

  const skipped = o.noNeighbours ? [] : ['RMP-DATA-012', 'RMP-DATA-020', 'RMP-DATA-011 (near duplicates)'];
  const report: ScanReport = {
    tool: { name: 'rampart', version: o.version },
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    files: [{ file, formats: [ds0.format, ...(ds0.gzip ? ['gzip'] : [])], size: n, complete: true, durationMs: Date.now() - started }],
    findings,
    suppressed: 0,
  };
  // What --write-clean/--quarantine need: for text formats the row spans (the rows are copied from
  // the file), for NumPy and Parquet the one chunk, which is the whole dataset.
  let dataset: Dataset = ds0;
  if (ds0.spans) {
    const { labels: _l, ids: _i, sources: _s, ...rest } = ds0;
    dataset = { ...rest, n, d: 0, X: new Float64Array(0), featureNames: [], lines: lines.a.slice(0, n), spans: spans.a.slice(0, 2 * n), rowHashes: [], malformedRows: [], typeErrors: [] };
  }
  return { report, dataset, timings, rowSeverity: severity.a.slice(0, n), skipped };
}
