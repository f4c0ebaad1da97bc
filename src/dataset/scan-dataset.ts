// Runs every dataset check on one file and returns a ScanReport for the scanner's reporters:
// schema/type/range and class balance against a baseline, duplicates, label noise, outliers,
// backdoor triggers on embeddings, and per-source provenance. Row findings carry the 0-based row
// and, for text formats, the 1-based line (header counted) so SARIF can point at it.
import type { Logger } from '../core/logger.js';
import { severityRank, type Finding, type Severity } from '../core/types.js';
import { detectBackdoor, reclassifyCluster } from '../detect/dataset/backdoor.js';
import { balanceShift, outOfRange } from '../detect/dataset/column-profile.js';
import { exactDuplicates } from '../detect/dataset/duplicates.js';
import { approximateKnn } from '../detect/dataset/knn.js';
import { confidentLearning, knnProbabilities } from '../detect/dataset/label-noise.js';
import { sourceStats } from '../detect/dataset/provenance.js';
import { cutOutliers, featureOutliers, robustMahalanobis, robustScale } from '../detect/dataset/robust-outliers.js';
import { column, imputeMedian, mulberry32 } from '../detect/dataset/stats.js';
import { getRule } from '../scan/rules.js';
import type { ScanReport } from '../scan/types.js';
import { countLabels, diffRows, readBaseline, type DatasetBaseline } from './baseline.js';
import { readDataset, readEmbeddings } from './read-dataset.js';
import { fmtRows, pct, round, sourceFinding } from './finding-format.js';
import './rules.js';
import type { Dataset, ReadOptions } from './types.js';

export interface DatasetScanOptions extends ReadOptions {
  /** Embeddings file (.npy or CSV), one vector per row. */
  embeddings?: string;
  /** Trusted dataset baseline (from `rampart dataset baseline`). */
  dataBaseline?: string;
  /** Skip the neighbour-based checks (label noise, near duplicates). */
  noNeighbours?: boolean;
  /**
   * Feature scaling before the k-NN checks: `standard` z-scores with a standard deviation winsorised
   * at the 0.5%/99.5% quantiles, clipped to ±10; `none` for features already on one scale (pixels,
   * embeddings); `auto` (default) picks the one whose leave-one-out k-NN vote agrees more often with
   * the given labels, on a seeded sample of at most 5,000 rows (`standard` without labels).
   */
  featureScale?: 'auto' | 'standard' | 'none';
  /**
   * Neighbours for label noise; default: 5, 10 or 20 (20 only up to 50,000 rows), whichever has the
   * best leave-one-out accuracy.
   */
  k?: number;
  /**
   * Share of rows the multivariate outlier check may raise at medium (default 0.005): see
   * `cutOutliers` in src/detect/dataset/robust-outliers.ts.
   */
  outlierRate?: number;
  seed?: number;
  /** Most findings per rule (default 10,000); the rest are counted in a summary. */
  maxFindingsPerRule?: number;
  version: string;
}

export interface DatasetScanResult {
  report: ScanReport;
  dataset: Dataset;
  /** Timings of each check, milliseconds. */
  timings: Record<string, number>;
  /** Highest severity rank of the findings on each row (-1: none), counting findings past the per-rule limit. */
  rowSeverity: Int8Array;
}

export async function scanDatasetFile(file: string, o: DatasetScanOptions, logger?: Logger): Promise<DatasetScanResult> {
  const started = Date.now();
  const t0 = performance.now();
  const ds = await readDataset(file, o);
  const readMs = performance.now() - t0;
  let emb: { E: Float64Array; k: number } | undefined;
  if (o.embeddings) emb = await readEmbeddings(o.embeddings, ds.n);
  const baseline = o.dataBaseline ? readBaseline(o.dataBaseline) : undefined;
  const r = checkDataset(ds, { ...o, ...(emb ? { E: emb.E, k_emb: emb.k } : {}), ...(baseline ? { baseline } : {}) }, logger);
  r.timings.read = readMs;
  const report: ScanReport = {
    tool: { name: 'rampart', version: o.version },
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    files: [{ file, formats: [ds.format, ...(ds.gzip ? ['gzip'] : [])], size: ds.n, complete: true, durationMs: Date.now() - started }],
    findings: r.findings,
    suppressed: 0,
  };
  return { report, dataset: ds, timings: r.timings, rowSeverity: r.rowSeverity };
}

export interface CheckInput extends Omit<DatasetScanOptions, 'version' | 'embeddings' | 'dataBaseline'> {
  E?: Float64Array;
  k_emb?: number;
  baseline?: DatasetBaseline;
}

/** The checks on a Dataset already in memory (the part benchmarks time). */
export function checkDataset(ds: Dataset, o: CheckInput, logger?: Logger): { findings: Finding[]; timings: Record<string, number>; rowSeverity: Int8Array } {
  const timings: Record<string, number> = {};
  const time = <T>(name: string, f: () => T): T => {
    const t = performance.now();
    const v = f();
    timings[name] = performance.now() - t;
    return v;
  };
  const max = o.maxFindingsPerRule ?? 10_000;
  const perRule = new Map<string, number>();
  const dropped = new Map<string, number>();
  const findings: Finding[] = [];
  const rowFindingMax = new Int8Array(ds.n).fill(-1);
  // Rows new or changed since the baseline's manifest carry `details.newSinceBaseline` so reviewers
  // look at them first.
  let fresh: Set<number> | undefined;
  if (o.baseline) {
    fresh = new Set(diffRows(o.baseline.manifest, ds).freshRows);
  }
  const add = (ruleId: string, message: string, row: number | undefined, details?: Record<string, unknown>, severity?: Severity) => {
    const rule = getRule(ruleId)!;
    const sev = severity ?? rule.severity;
    if (row !== undefined && ruleId !== 'RMP-DATA-050') rowFindingMax[row] = Math.max(rowFindingMax[row]!, severityRank(sev));
    const c = perRule.get(ruleId) ?? 0;
    if (c >= max) {
      dropped.set(ruleId, (dropped.get(ruleId) ?? 0) + 1);
      return;
    }
    perRule.set(ruleId, c + 1);
    const f: Finding = { ruleId, severity: sev, file: ds.file, message, remediation: rule.remediation };
    if (row !== undefined) {
      f.location = { row };
      if (ds.lines) f.location.line = ds.lines[row]!;
      if (ds.ids) f.location.record = ds.ids[row]!;
    }
    if (details) f.details = details;
    if (row !== undefined && fresh?.has(row)) f.details = { ...(f.details ?? {}), newSinceBaseline: true };
    findings.push(f);
  };
  const { n, d, X } = ds;
  const labelIndex = new Map<string, number>();
  let y: Int32Array | undefined;
  if (ds.labels) {
    const names = [...new Set(ds.labels.filter((l) => l !== ''))].sort();
    names.forEach((l, i) => labelIndex.set(l, i));
    y = Int32Array.from(ds.labels, (l) => labelIndex.get(l) ?? -1);
  }
  const labelNames = [...labelIndex.keys()];
  const c = labelNames.length;

  time('schema', () => {
    for (const m of ds.malformedRows) add('RMP-DATA-001', m.fields === 0 ? 'row is not a JSON object' : `row has ${m.fields} fields, expected ${m.expected}`, m.row, { fields: m.fields, expected: m.expected });
    for (const t of ds.typeErrors) add('RMP-DATA-002', `non-numeric value in numeric column ${t.column}`, t.row, { column: t.column, value: t.value });
    const b = o.baseline;
    if (!b) return;
    const now = new Map(ds.columns.map((col) => [col.name, col]));
    const then = new Map(b.columns.map((col) => [col.name, col]));
    for (const col of b.columns) {
      const cur = now.get(col.name);
      if (!cur) add('RMP-DATA-003', `column ${col.name} of the baseline is missing`, undefined, { column: col.name });
      else if (col.kind !== 'empty' && cur.kind !== 'empty' && col.kind !== cur.kind) add('RMP-DATA-003', `column ${col.name} changed type from ${col.kind} to ${cur.kind}`, undefined, { column: col.name, was: col.kind, now: cur.kind });
    }
    for (const col of ds.columns) if (!then.has(col.name)) add('RMP-DATA-003', `column ${col.name} is not in the baseline`, undefined, { column: col.name });
    ds.featureNames.forEach((name, j) => {
      const p = then.get(name)?.profile;
      if (!p) return;
      for (const o2 of outOfRange(column(X, n, d, j), p)) add('RMP-DATA-004', `${name} = ${o2.value} is outside the baseline range [${p.min}, ${p.max}]`, o2.row, { column: name, value: o2.value, min: p.min, max: p.max });
    });
    if (b.classBalance && ds.labels) {
      const known = new Set(Object.keys(b.classBalance));
      ds.labels.forEach((l, i) => {
        if (l !== '' && !known.has(l)) add('RMP-DATA-006', `label ${JSON.stringify(l)} is not in the baseline`, i, { label: l });
      });
      const s = balanceShift(b.classBalance, countLabels(ds.labels));
      if (s.pValue < 1e-3 && s.maxAbsChange >= 0.05) {
        add('RMP-DATA-005', `class balance shifted by up to ${(100 * s.maxAbsChange).toFixed(1)} points (chi-square p = ${s.pValue.toExponential(2)})`, undefined, {
          chi2: round(s.chi2),
          pValue: s.pValue,
          classes: s.classes.map((x) => ({ label: x.label, baseline: round(x.baseline), current: round(x.current) })),
        });
      }
    }
  });


  time('duplicates', () => {
    for (const g of exactDuplicates(X, n, d, ds.labels)) {
      const conflicting = (g.labels?.length ?? 0) > 1;
      for (const row of g.rows.slice(conflicting ? 0 : 1)) {
        if (conflicting) add('RMP-DATA-011', `rows ${fmtRows(g.rows)} have identical features but labels ${g.labels!.join(', ')}`, row, { rows: g.rows.slice(0, 20), labels: g.labels });
        else add('RMP-DATA-010', `duplicate of row ${g.rows[0]}`, row, { of: g.rows[0] });
      }
    }
  });

  const scale = time('outliers', () => {
    const s = robustScale(X, n, d);
    for (const f of featureOutliers(X, n, d, s, 10)) {
      add('RMP-DATA-030', `${ds.featureNames[f.feature]} = ${f.value} is ${Number.isFinite(f.z) ? `${round(f.z)} robust SDs from its median` : 'different from a constant column'}`, f.row, {
        column: ds.featureNames[f.feature],
        value: f.value,
        z: Number.isFinite(f.z) ? round(f.z) : null,
      });
    }
    const m = robustMahalanobis(X, n, d, s, { seed: o.seed ?? 1 });
    const cut = cutOutliers(m.score, o.outlierRate ?? 0.005);
    const info = { quantileThreshold: round(cut.quantileThreshold), tailThreshold: round(cut.tailThreshold) };
    const rows = [...cut.strong.map((i) => [i, 1] as const), ...cut.weak.map((i) => [i, 0] as const)].sort((a, b) => a[0] - b[0]);
    for (const [i, strong] of rows) {
      const msg = strong
        ? `robust distance score ${round(m.score[i]!)}: among the ${pct(o.outlierRate ?? 0.005)} most distant rows and significant (Benjamini–Hochberg)`
        : `robust distance score ${round(m.score[i]!)}: beyond the extrapolated tail threshold ${round(cut.tailThreshold)} but outside the ${pct(o.outlierRate ?? 0.005)} most distant rows`;
      add('RMP-DATA-031', msg, i, { score: round(m.score[i]!), d2: round(m.d2[i]!), ...info }, strong ? 'medium' : 'low');
    }
    return s;
  });

  let Z: Float64Array | undefined;
  if (!o.noNeighbours && n > 2 && d > 0) {
    const labelled = y !== undefined && c > 1;
    Z = time('standardise', () => scaledForNeighbours(X, n, d, scale.center, o.featureScale ?? 'auto', labelled ? y : undefined, c, o.seed ?? 42));
    // 20 neighbours (k candidates 5, 10, 20) up to 50,000 rows; above, 10 (5, 10): neighbourhoods are
    // denser, and the refinement costs O(n·k²·d).
    const g = time('knn', () => approximateKnn(Z!, n, d, { k: o.k ?? (labelled && n <= 50_000 ? 20 : 10), seed: o.seed ?? 42 }));
    time('nearDuplicates', () => {
      const radius2 = (0.05 * Math.sqrt(d)) ** 2;
      for (let i = 0; i < n; i++) {
        const j = g.idx[i * g.k]!;
        const dd = g.dist[i * g.k]!;
        if (j < 0 || dd === 0 || dd > radius2 || j > i) continue; // report the later row of a pair
        if (y && y[i] !== y[j] && y[i]! >= 0 && y[j]! >= 0) add('RMP-DATA-011', `row is a near duplicate of row ${j} with label ${ds.labels![j]} instead of ${ds.labels![i]}`, i, { of: j, distance: round(Math.sqrt(dd)) });
        else add('RMP-DATA-012', `near duplicate of row ${j}`, i, { of: j, distance: round(Math.sqrt(dd)) });
      }
    });
    if (y && c > 1) {
      time('labelNoise', () => {
        // k: the candidate whose leave-one-out vote agrees most often with the given labels.
        let probs = knnProbabilities(g, y, c);
        if (o.k === undefined) {
          let best = -1;
          for (const k of [5, 10, 20]) {
            if (k > g.k) continue;
            const p = knnProbabilities(g, y, c, 0.5, k);
            const a = looAccuracy(p, y, c);
            if (a > best) {
              best = a;
              probs = p;
            }
          }
        }
        const res = confidentLearning(probs, y, c);
        for (const is of res.issues) {
          add('RMP-DATA-020', `labelled ${labelNames[is.given]} but most likely ${labelNames[is.likely]} (p = ${round(is.pLikely)} vs ${round(is.pGiven)})`, is.row, {
            given: labelNames[is.given],
            likely: labelNames[is.likely],
            pGiven: round(is.pGiven),
            pLikely: round(is.pLikely),
          });
        }
      });
    }
  }

  if (o.E && o.k_emb && y && c > 1) {
    time('backdoor', () => {
      // Input-space features for the exclusionary reclassification, only once a class needs it:
      // standardised and raw, the reclassifier choosing between them on the rows outside the
      // cluster (`auto`), or the scaling --feature-scale names.
      let spaces: Float64Array[] | undefined;
      const reclassify = (rows: number[], label: number) => {
        const mode = o.featureScale ?? 'auto';
        spaces ??= mode === 'auto' ? [standardise(X, n, d, scale.center, 'standard'), standardise(X, n, d, scale.center, 'none')] : [standardise(X, n, d, scale.center, mode)];
        return reclassifyCluster(spaces, n, d, y!, rows, label, { seed: o.seed ?? 7 });
      };
      const res = detectBackdoor(o.E!, n, o.k_emb!, y, c, { seed: o.seed ?? 7, reclassify });
      for (const cls of res.classes) {
        if (!cls.suspicious) continue;
        logger?.info({ label: labelNames[cls.label], silhouette: cls.silhouette, smallShare: cls.smallShare, confidentShare: cls.confidentShare }, 'backdoor candidate class');
        const info = {
          label: labelNames[cls.label],
          silhouette: round(cls.silhouette),
          clusterShare: round(cls.smallShare),
          clusterSize: cls.smallCluster.length,
          foreignShare: round(cls.foreignShare ?? NaN),
          confidentShare: round(cls.confidentShare ?? NaN),
          confidentLower: round(cls.confidentLower ?? NaN),
        };
        const why = cls.confidentShare !== undefined ? `${Math.round(100 * cls.confidentShare)}% of it look like another class` : `silhouette ${round(cls.silhouette)}`;
        for (const row of cls.smallCluster) add('RMP-DATA-041', `in a small cluster (${cls.smallCluster.length} of ${cls.size} rows, ${why}) of class ${labelNames[cls.label]}`, row, info);
        for (const row of cls.spectralOutliers) add('RMP-DATA-040', `spectral signature score ${round(res.spectral[row]!)} in class ${labelNames[cls.label]}`, row, { ...info, score: round(res.spectral[row]!) });
      }
    });
  }

  if (ds.sources) {
    time('provenance', () => {
      const flagged = Uint8Array.from(rowFindingMax, (s) => (s >= severityRank('medium') ? 1 : 0));
      for (const s of sourceStats(ds.sources!, flagged, y, c)) {
        if (!s.suspicious) continue;
        const f = sourceFinding(s);
        add('RMP-DATA-050', f.message, undefined, f.properties);
      }
    });
  }
  for (const [ruleId, count] of dropped) {
    findings.push({ ruleId, severity: getRule(ruleId)!.severity, file: ds.file, message: `${count} more findings of this rule not listed (limit ${max} per rule)`, details: { notListed: count } });
  }
  return { findings, timings, rowSeverity: rowFindingMax };
}

/** The features scaled as `mode` says; `auto` picks with `pickScaling` (`standard` without labels). */
function scaledForNeighbours(X: Float64Array, n: number, d: number, center: Float64Array, mode: 'auto' | 'standard' | 'none', y: Int32Array | undefined, c: number, seed: number): Float64Array {
  if (mode !== 'auto') return standardise(X, n, d, center, mode);
  const std = standardise(X, n, d, center, 'standard');
  if (!y || c < 2) return std;
  const raw = standardise(X, n, d, center, 'none');
  return pickScaling(std, raw, n, d, y, c, seed) === 'none' ? raw : std;
}

/** Share of labelled rows whose most probable class is their given label. */
function looAccuracy(p: Float64Array, y: Int32Array, c: number): number {
  let hit = 0;
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0) continue;
    let b = 0;
    for (let a = 1; a < c; a++) if (p[i * c + a]! > p[i * c + b]!) b = a;
    if (b === y[i]) hit++;
    m++;
  }
  return m ? hit / m : 0;
}

/**
 * `auto` feature scaling: on a seeded sample of at most 5,000 rows, the leave-one-out 10-NN vote under
 * each scaling against the given labels; the more accurate one wins (`standard` on a tie).
 */
function pickScaling(std: Float64Array, raw: Float64Array, n: number, d: number, y: Int32Array, c: number, seed: number): 'standard' | 'none' {
  const m = Math.min(n, 5000);
  let rows = Int32Array.from({ length: n }, (_, i) => i);
  if (m < n) {
    const r = mulberry32(seed);
    for (let t = 0; t < m; t++) {
      const j = t + Math.floor(r() * (n - t));
      const v = rows[t]!;
      rows[t] = rows[j]!;
      rows[j] = v;
    }
    rows = rows.slice(0, m).sort();
  }
  const ys = Int32Array.from(rows, (i) => y[i]!);
  const acc = (Z: Float64Array) => {
    const S = new Float64Array(m * d);
    rows.forEach((i, t) => S.set(Z.subarray(i * d, i * d + d), t * d));
    return looAccuracy(knnProbabilities(approximateKnn(S, m, d, { k: 10, seed }), ys, c), ys, c);
  };
  return acc(raw) > acc(std) ? 'none' : 'standard';
}

/** Median-imputed copy of X, scaled for the neighbour checks (see DatasetScanOptions.featureScale). */
function standardise(X: Float64Array, n: number, d: number, medians: Float64Array, mode: 'standard' | 'none'): Float64Array {
  const out = imputeMedian(X, n, d, medians);
  if (mode === 'none') return out;
  const col = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = out[i * d + j]!;
    const sorted = Float64Array.from(col).sort();
    const lo = sorted[Math.floor(0.005 * (n - 1))]!;
    const hi = sorted[Math.ceil(0.995 * (n - 1))]!;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += Math.min(hi, Math.max(lo, col[i]!)) / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (Math.min(hi, Math.max(lo, col[i]!)) - mean) ** 2;
    let sd = Math.sqrt(v / Math.max(1, n - 1));
    if (sd === 0) {
      // All but the tails are one value: fall back to the plain standard deviation.
      let m2 = 0;
      let mu = 0;
      for (let i = 0; i < n; i++) mu += col[i]! / n;
      for (let i = 0; i < n; i++) m2 += (col[i]! - mu) ** 2;
      sd = Math.sqrt(m2 / Math.max(1, n - 1));
    }
    for (let i = 0; i < n; i++) out[i * d + j] = sd > 0 ? Math.max(-10, Math.min(10, (col[i]! - mean) / sd)) : 0;
  }
  return out;
}
