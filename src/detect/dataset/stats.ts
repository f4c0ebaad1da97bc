// Small numeric helpers shared by the dataset detectors: a seeded PRNG, selection-based medians,
// column access on row-major matrices, and median imputation. Pure: arrays in, numbers out.

/** Deterministic PRNG (mulberry32, the project's one; see ../random.ts): every detector that samples takes a seed. */
export { mulberry32 } from '../random.js';

/** k-th smallest (0-based) of a, reordering a in place (Hoare quickselect, median-of-three). */
export function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    let x = a[lo]!, y = a[mid]!, z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of the finite values of a (NaN when there are none). Does not modify a. */
export function median(a: ArrayLike<number>): number {
  const b = finite(a);
  if (b.length === 0) return NaN;
  const m = b.length >>> 1;
  const hi = select(b, m);
  if (b.length % 2) return hi;
  let lo = -Infinity;
  for (let i = 0; i < m; i++) if (b[i]! > lo) lo = b[i]!;
  return (lo + hi) / 2;
}

export function finite(a: ArrayLike<number>): Float64Array {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) c++;
  const b = new Float64Array(c);
  c = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) b[c++] = a[i]!;
  return b;
}

/** Column j of an n × d row-major matrix. */
export function column(X: Float64Array, n: number, d: number, j: number): Float64Array {
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = X[i * d + j]!;
  return c;
}

/** A copy of X with every non-finite value replaced by its column's median (0 for an all-missing column). */
export function imputeMedian(X: Float64Array, n: number, d: number, medians?: Float64Array): Float64Array {
  const out = Float64Array.from(X);
  const med = medians ?? Float64Array.from({ length: d }, (_, j) => median(column(X, n, d, j)));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = out[i * d + j]!;
      if (!Number.isFinite(v)) out[i * d + j] = Number.isFinite(med[j]!) ? med[j]! : 0;
    }
  }
  return out;
}

/** Column means and standard deviations (finite values only). */
export function meanStd(X: Float64Array, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  const cnt = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j]!;
      if (!Number.isFinite(v)) continue;
      cnt[j]!++;
      const delta = v - mean[j]!;
      mean[j]! += delta / cnt[j]!;
      m2[j]! += delta * (v - mean[j]!);
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) std[j] = cnt[j]! > 1 ? Math.sqrt(m2[j]! / (cnt[j]! - 1)) : 0;
  return { mean, std };
}

/** Upper-tail probability of the standard normal. */
export function normalSf(z: number): number {
  // Abramowitz–Stegun 7.1.26 on erfc; enough for thresholds and p-values in reports.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? y / 2 : 1 - y / 2;
}
