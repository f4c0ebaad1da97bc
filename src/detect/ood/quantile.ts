// Empirical quantiles of a score distribution, so detector thresholds are set as "the q-th
// quantile of the scores of legitimate inputs" rather than as magic numbers.

/**
 * The q-th quantile (0..1) of `values` with linear interpolation between order statistics
 * (type 7, as in R and NumPy). NaN for an empty input. Does not modify `values`.
 *
 * @example
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return quantileSorted(sorted, q);
}

/** Like `quantile` on values already sorted in increasing order. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const p = Math.min(1, Math.max(0, q)) * (n - 1);
  const lo = Math.floor(p);
  const hi = Math.min(n - 1, lo + 1);
  const f = p - lo;
  return sorted[lo]! + f * (sorted[hi]! - sorted[lo]!);
}

/**
 * Share of the reference scores at or above `score` (an empirical upper-tail p-value with the +1
 * correction, so it is never 0): 1 / (n + 1) means "above every legitimate input seen".
 */
export function upperTailP(sortedReference: ArrayLike<number>, score: number): number {
  const n = sortedReference.length;
  // Binary search for the first index whose value is >= score.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedReference[mid]! < score) lo = mid + 1;
    else hi = mid;
  }
  return (n - lo + 1) / (n + 1);
}

/** A compact summary of a score distribution kept in a baseline (sorted sample, capped). */
export function scoreSample(scores: ArrayLike<number>, max = 2000): number[] {
  const sorted = Float64Array.from(scores as ArrayLike<number>).sort();
  if (sorted.length <= max) return Array.from(sorted);
  // Evenly spaced order statistics keep the shape of the distribution, tails included.
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(sorted[Math.round((i * (sorted.length - 1)) / (max - 1))]!);
  return out;
}
