// The multivariate part of a dataset baseline: what the ingest guard needs to score one record by
// the same robust Mahalanobis distance as the batch rule RMP-DATA-031 (robust centre and scale per
// feature, centre and Cholesky factor of the shrunk covariance of the central rows, and the
// median/MAD of the Wilson–Hilferty transform of the baseline's own distances), plus a score
// threshold calibrated on the baseline rows. Written by `rampart dataset baseline` when the dataset
// has 1..MULTIVARIATE_MAX_FEATURES non-constant numeric features; absent in older baselines.
import { distanceStandardiser, fitMahalanobis, mahalanobisD2, robustScale } from '../detect/dataset/robust-outliers.js';
import { select } from '../detect/dataset/stats.js';
import type { Dataset } from './types.js';

/** Most numeric features for which the baseline stores a covariance (p² numbers, p² work per record). */
export const MULTIVARIATE_MAX_FEATURES = 512;
/** Upper-tail share of clean records the calibrated threshold aims to flag at most. */
export const MULTIVARIATE_RATE = 0.001;
/** Normal quantile of 1 − MULTIVARIATE_RATE: the threshold on Gaussian-like data. */
const Z_RATE = 3.09;
const MAX_SCORED_ROWS = 50_000;

export interface MultivariateBaseline {
  /** Numeric features used (non-constant in the baseline), in order. */
  features: string[];
  /** Robust centre (median) and scale (1.4826·MAD, or SD for sparse features) per feature. */
  center: number[];
  scale: number[];
  /** Mean of the standardised central rows. */
  mean: number[];
  /** Lower Cholesky factor of the shrunk covariance, packed by rows (p·(p+1)/2 numbers). */
  chol: number[];
  /** Median and MAD of (d²/p)^(1/3) over the baseline rows. */
  med: number;
  mad: number;
  /** Robust distance score above which a record is flagged (RMP-DATA-031). */
  threshold: number;
}

/** Fits the multivariate part, or undefined (too many or no usable features, or too few rows). */
export function buildMultivariate(ds: Dataset, seed = 1): MultivariateBaseline | undefined {
  const { X, n, d } = ds;
  if (d === 0 || d > MULTIVARIATE_MAX_FEATURES) return undefined;
  const s = robustScale(X, n, d);
  const model = fitMahalanobis(X, n, d, s, { seed });
  if (!model || n < Math.max(20, 2 * model.p)) return undefined;
  const { p, cols, L } = model;
  // Distances of at most MAX_SCORED_ROWS evenly spaced rows (O(m·p²)): enough for the median, MAD and tail quantiles.
  const m = Math.min(n, MAX_SCORED_ROWS);
  let Xs = X;
  if (m < n) {
    Xs = new Float64Array(m * d);
    for (let t = 0; t < m; t++) {
      const i = Math.floor((t * n) / m);
      Xs.set(X.subarray(i * d, (i + 1) * d), t * d);
    }
  }
  const d2 = mahalanobisD2(model, Xs, m, d, s);
  const st = distanceStandardiser(d2, p);
  const score = new Float64Array(m);
  for (let i = 0; i < m; i++) score[i] = (Math.cbrt(d2[i]! / p) - st.med) / st.mad;
  // As cutOutliers: the exponential tail fitted on the 80% and 95% quantiles, extrapolated to the
  // (1 − rate) quantile, so heavy-tailed clean data gets a higher bar; never below the normal quantile.
  const q = (x: number) => select(score, Math.min(m - 1, Math.round(x * (m - 1))));
  const q80 = q(0.8);
  const q95 = q(0.95);
  const tail = q95 + ((q95 - q80) / Math.log(4)) * Math.log(0.05 / MULTIVARIATE_RATE);
  const chol: number[] = [];
  for (let a = 0; a < p; a++) for (let b = 0; b <= a; b++) chol.push(L[a * p + b]!);
  return {
    features: cols.map((j) => ds.featureNames[j]!),
    center: cols.map((j) => s.center[j]!),
    scale: cols.map((j) => s.scale[j]!),
    mean: Array.from(model.mean),
    chol,
    med: st.med,
    mad: st.mad,
    threshold: Math.max(Z_RATE, Number.isFinite(tail) ? tail : Z_RATE),
  };
}

/** A scorer for single records: robust distance score (as RMP-DATA-031) of a feature vector. */
export function multivariateScorer(m: MultivariateBaseline): (x: ArrayLike<number>) => number {
  const p = m.features.length;
  const y = new Float64Array(p);
  // Row a of the packed factor starts at a·(a+1)/2.
  const row = Array.from({ length: p }, (_, a) => (a * (a + 1)) / 2);
  return (x) => {
    let acc = 0;
    for (let a = 0; a < p; a++) {
      const v0 = x[a]!;
      let v = (Number.isFinite(v0) ? (v0 - m.center[a]!) / m.scale[a]! : 0) - m.mean[a]!;
      const r = row[a]!;
      for (let b = 0; b < a; b++) v -= m.chol[r + b]! * y[b]!;
      v /= m.chol[r + a]!;
      y[a] = v;
      acc += v * v;
    }
    return (Math.cbrt(acc / p) - m.med) / m.mad;
  };
}
