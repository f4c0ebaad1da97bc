// Robust per-feature z-scores: distance from the median in units of the median absolute deviation
// (MAD), which a few outliers in the legitimate inputs cannot inflate the way they inflate a
// standard deviation.

/** Median and scale of each feature, as stored in a baseline. */
export interface RobustStats {
  median: number[];
  /**
   * 1.4826 × MAD (consistent with σ for normal data); where the MAD is 0 (a feature that is
   * mostly one value, such as a background pixel), 1.2533 × the mean absolute deviation from the
   * median instead, and a small floor for a constant feature.
   */
  scale: number[];
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/**
 * Fits per-feature medians and robust scales on `x` (n rows × d features, row-major).
 * `floor` is the smallest scale used (default 1e-6 × the largest feature spread, or 1e-6).
 */
export function fitRobust(x: ArrayLike<number>, n: number, d: number, floor?: number): RobustStats {
  const med: number[] = [];
  const raw: number[] = [];
  const col = new Float64Array(n);
  const dev = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = x[i * d + j]!;
    col.sort();
    const m = median(col);
    let meanAbs = 0;
    for (let i = 0; i < n; i++) {
      dev[i] = Math.abs(col[i]! - m);
      meanAbs += dev[i]!;
    }
    meanAbs /= Math.max(1, n);
    dev.sort();
    const mad = median(dev);
    med.push(m);
    raw.push(mad > 0 ? 1.4826 * mad : 1.2533 * meanAbs);
  }
  const spread = Math.max(0, ...raw);
  const fl = floor ?? Math.max(1e-6 * spread, 1e-6);
  return { median: med, scale: raw.map((s) => Math.max(s, fl)) };
}

/** Per-feature robust z-scores of one row. */
export function robustZ(stats: RobustStats, row: ArrayLike<number>): Float64Array {
  const d = stats.median.length;
  const z = new Float64Array(d);
  for (let j = 0; j < d; j++) z[j] = (row[j]! - stats.median[j]!) / stats.scale[j]!;
  return z;
}

/**
 * One score per row from its robust z-scores: the root mean square of the z-scores, each clipped
 * at `clip` so one wild feature cannot dominate (default 50). 0 for a row at the medians.
 */
export function robustZScore(stats: RobustStats, row: ArrayLike<number>, clip = 50): number {
  const d = stats.median.length;
  let s = 0;
  for (let j = 0; j < d; j++) {
    const z = Math.min(clip, Math.abs((row[j]! - stats.median[j]!) / stats.scale[j]!));
    s += z * z;
  }
  return d ? Math.sqrt(s / d) : 0;
}
