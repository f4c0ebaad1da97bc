// Outliers: robust per-feature scores and a robust multivariate distance.
// Per feature: z = (x - median) / scale, scale = 1.4826·MAD, falling back to the standard deviation
// when the MAD is 0 (sparse features: more than half the values are equal), and to "any other value
// is an outlier" for a constant column. Multivariate: a Mahalanobis distance on robustly standardised features with a
// covariance estimated on the central rows (every |z| ≤ 3, a trimmed estimate, from at most
// `maxCovRows` rows) and shrunk towards a multiple of the identity (Ledoit–Wolf style target,
// fixed intensity), so it stays invertible with many or collinear features. Distances go through
// the Wilson–Hilferty cube-root transform of χ²_d and are standardised by their own median/MAD, so
// heavy-tailed but clean data is not flagged wholesale. Cost: O(n·d) + O(m·d²) + O(n·d²).
import { column, median, mulberry32, normalSf, select } from './stats.js';

export interface FeatureScale {
  center: Float64Array;
  /** 0 for a constant column. */
  scale: Float64Array;
}

export function robustScale(X: Float64Array, n: number, d: number): FeatureScale {
  const center = new Float64Array(d);
  const scale = new Float64Array(d);
  const dev = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    const c = column(X, n, d, j);
    const m = median(c);
    center[j] = Number.isFinite(m) ? m : 0;
    let k = 0;
    let sumAbs = 0;
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      if (!Number.isFinite(v)) continue;
      const a = Math.abs(v - center[j]!);
      dev[k++] = a;
      sumAbs += a;
    }
    if (k === 0) continue;
    const mad = select(dev.subarray(0, k), k >>> 1);
    if (mad > 0) scale[j] = 1.4826 * mad;
    else if (sumAbs > 0) {
      // Sparse feature (more than half the values equal the median): the standard deviation.
      let mean = 0;
      for (let i = 0; i < n; i++) if (Number.isFinite(c[i]!)) mean += c[i]! / k;
      let v = 0;
      for (let i = 0; i < n; i++) if (Number.isFinite(c[i]!)) v += (c[i]! - mean) ** 2;
      scale[j] = Math.sqrt(v / Math.max(1, k - 1));
    }
  }
  return { center, scale };
}

export interface FeatureOutlier {
  row: number;
  /** Feature index with the largest |z|. */
  feature: number;
  z: number;
  value: number;
}

/** Rows whose largest robust |z| exceeds `threshold` (Infinity for a change in a constant column). */
export function featureOutliers(X: Float64Array, n: number, d: number, s: FeatureScale, threshold = 10): FeatureOutlier[] {
  const out: FeatureOutlier[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bj = -1;
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j]!;
      if (!Number.isFinite(v)) continue;
      const diff = Math.abs(v - s.center[j]!);
      const sc = s.scale[j]!;
      const z = sc > 0 ? diff / sc : diff > 0 ? Infinity : 0;
      if (z > best) {
        best = z;
        bj = j;
      }
    }
    if (bj >= 0 && best > threshold) out.push({ row: i, feature: bj, z: best, value: X[i * d + bj]! });
  }
  return out;
}

export interface MahalanobisResult {
  /** Squared robust distance of each row. */
  d2: Float64Array;
  /** Robust standard score of each row's distance (Wilson–Hilferty, then median/MAD). */
  score: Float64Array;
  /** Features used (non-constant). */
  used: number;
}

export interface MahalanobisOptions {
  shrinkage?: number;
  maxCovRows?: number;
  seed?: number;
}

/** A fitted robust Mahalanobis model: used features, centre and Cholesky factor of the covariance. */
export interface MahalanobisModel {
  cols: number[];
  p: number;
  mean: Float64Array;
  L: Float64Array;
}

/**
 * Fits the covariance on the central rows of X (every |z| ≤ 3, sampled down to `maxCovRows` with a
 * fixed seed), shrunk towards μ·I. Chunked scans fit it on a sample of rows.
 */
export function fitMahalanobis(X: Float64Array, n: number, d: number, s: FeatureScale, o: MahalanobisOptions = {}): MahalanobisModel | undefined {
  const cols: number[] = [];
  for (let j = 0; j < d; j++) if (s.scale[j]! > 0) cols.push(j);
  const p = cols.length;
  if (p === 0 || n < 3) return undefined;
  const z = (i: number, k: number) => {
    const j = cols[k]!;
    const v = X[i * d + j]!;
    return Number.isFinite(v) ? (v - s.center[j]!) / s.scale[j]! : 0;
  };
  // Central rows for the covariance: every |z| ≤ 3, sampled down to maxCovRows.
  const maxRows = o.maxCovRows ?? 50_000;
  const rnd = mulberry32(o.seed ?? 1);
  const central: number[] = [];
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let k = 0; k < p && ok; k++) if (Math.abs(z(i, k)) > 3) ok = false;
    if (ok) central.push(i);
  }
  let rows = central.length >= Math.max(10, p + 1) ? central : Array.from({ length: n }, (_, i) => i);
  if (rows.length > maxRows) {
    for (let t = 0; t < maxRows; t++) {
      const r = t + Math.floor(rnd() * (rows.length - t));
      [rows[t], rows[r]] = [rows[r]!, rows[t]!];
    }
    rows = rows.slice(0, maxRows);
  }
  const m = rows.length;
  const mean = new Float64Array(p);
  const zi = new Float64Array(p);
  for (const i of rows) for (let k = 0; k < p; k++) mean[k]! += z(i, k) / m;
  const S = new Float64Array(p * p);
  for (const i of rows) {
    for (let k = 0; k < p; k++) zi[k] = z(i, k) - mean[k]!;
    for (let a = 0; a < p; a++) {
      const za = zi[a]!;
      if (za === 0) continue;
      for (let b = 0; b <= a; b++) S[a * p + b]! += za * zi[b]!;
    }
  }
  let trace = 0;
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      S[a * p + b]! /= Math.max(1, m - 1);
      S[b * p + a] = S[a * p + b]!;
    }
    trace += S[a * p + a]!;
  }
  const lambda = o.shrinkage ?? 0.1;
  const mu = trace / p || 1;
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) S[a * p + b] = (1 - lambda) * S[a * p + b]! + (a === b ? lambda * mu : 0);
  return { cols, p, mean, L: cholesky(S, p) };
}

/** Squared robust distances of the rows of X under a fitted model. */
export function mahalanobisD2(model: MahalanobisModel, X: Float64Array, n: number, d: number, s: FeatureScale): Float64Array {
  const { cols, p, mean, L } = model;
  const d2 = new Float64Array(n);
  const y = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    // Solve L y = z_i - mean (forward substitution); d² = |y|².
    let acc = 0;
    for (let a = 0; a < p; a++) {
      const j = cols[a]!;
      const x = X[i * d + j]!;
      let v = (Number.isFinite(x) ? (x - s.center[j]!) / s.scale[j]! : 0) - mean[a]!;
      for (let b = 0; b < a; b++) v -= L[a * p + b]! * y[b]!;
      v /= L[a * p + a]!;
      y[a] = v;
      acc += v * v;
    }
    d2[i] = acc;
  }
  return d2;
}

/**
 * Median and MAD of the Wilson–Hilferty transform (d²/p)^(1/3) of some distances: (d²/p)^(1/3) is
 * roughly normal with mean 1 − 2/(9p) and variance 2/(9p); the robust scores standardise by these.
 */
export function distanceStandardiser(d2: Float64Array, p: number): { med: number; mad: number } {
  const n = d2.length;
  const wh = new Float64Array(n);
  for (let i = 0; i < n; i++) wh[i] = Math.cbrt(d2[i]! / p);
  const med = median(wh);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(wh[i]! - med);
  return { med, mad: 1.4826 * median(dev) || Math.sqrt(2 / (9 * p)) };
}

/** Robust standard scores of distances, given a standardiser. */
export function distanceScores(d2: Float64Array, p: number, st: { med: number; mad: number }): Float64Array {
  const score = new Float64Array(d2.length);
  for (let i = 0; i < d2.length; i++) score[i] = (Math.cbrt(d2[i]! / p) - st.med) / st.mad;
  return score;
}

export function robustMahalanobis(X: Float64Array, n: number, d: number, s: FeatureScale, o: MahalanobisOptions = {}): MahalanobisResult {
  const model = fitMahalanobis(X, n, d, s, o);
  if (!model) return { d2: new Float64Array(n), score: new Float64Array(n), used: s.scale.filter((v) => v > 0).length };
  const d2 = mahalanobisD2(model, X, n, d, s);
  return { d2, score: distanceScores(d2, model.p, distanceStandardiser(d2, model.p)), used: model.p };
}

function cholesky(A: Float64Array, p: number): Float64Array {
  const L = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * p + j]!;
      for (let k = 0; k < j; k++) s -= L[i * p + k]! * L[j * p + k]!;
      if (i === j) L[i * p + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[i * p + j] = s / L[j * p + j]!;
    }
  }
  return L;
}

export interface OutlierCut {
  /** Rows reported at medium: significant and among the `rate` share of largest scores. */
  strong: number[];
  /** Rows significant and beyond the extrapolated tail threshold, but outside that share. */
  weak: number[];
  /** Empirical (1 − rate) quantile of the scores (informational). */
  quantileThreshold: number;
  /** Exponential-tail extrapolation of the (1 − rate) quantile from the 80% and 95% quantiles. */
  tailThreshold: number;
  /** Largest score rejected by Benjamini–Hochberg (Infinity when none is). */
  bhThreshold: number;
}

/**
 * Splits robust scores into reported rows with a false-discovery control and a calibrated share.
 * Each row's p-value is the upper normal tail of its score (the Wilson–Hilferty score is near normal
 * for χ²); Benjamini–Hochberg at level `rate` keeps only rows the normal model cannot explain (none on
 * Gaussian data). Real data has heavier tails than that model, so a row must also be among the `rate`
 * share of largest scores to be `strong`: at most max(1, ⌊rate·n⌋) rows, whatever the tail. Rows that pass
 * BH and lie beyond the exponential-tail extrapolation of the (1 − rate) quantile, fitted on the 80%
 * and 95% quantiles (so up to 5% of extreme rows do not move it), are `weak`: with more than `rate`
 * of the rows far out (a heavy tail, or many injected rows), they are still listed. O(n + m log m)
 * for m rows with p ≤ rate.
 */
export function cutOutliers(score: Float64Array, rate = 0.005): OutlierCut {
  const n = score.length;
  // Only rows with p ≤ rate can be rejected (rate·r/n ≤ rate), so only they are sorted: O(n + m log m).
  const cand: number[] = [];
  for (let i = 0; i < n; i++) if (normalSf(score[i]!) <= rate) cand.push(i);
  cand.sort((a, b) => score[b]! - score[a]! || a - b);
  let bh = 0;
  for (let r = 0; r < cand.length; r++) if (normalSf(score[cand[r]!]!) <= (rate * (r + 1)) / n) bh = r + 1;
  const sorted = Float64Array.from(score);
  const q = (p: number) => (n ? select(sorted, Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))) : NaN);
  const cap = n > 0 ? Math.max(1, Math.floor(rate * n)) : 0;
  const quantileThreshold = q(1 - cap / Math.max(1, n));
  const q80 = q(0.8);
  const q95 = q(0.95);
  const beta = (q95 - q80) / Math.log(4);
  const tailThreshold = q95 + beta * Math.log(0.05 / rate);
  const strong: number[] = [];
  const weak: number[] = [];
  for (let r = 0; r < bh; r++) {
    const i = cand[r]!;
    if (r < cap) strong.push(i);
    else if (score[i]! > tailThreshold) weak.push(i);
  }
  strong.sort((a, b) => a - b);
  weak.sort((a, b) => a - b);
  return { strong, weak, quantileThreshold, tailThreshold, bhThreshold: bh > 0 ? score[cand[bh - 1]!]! : Infinity };
}
