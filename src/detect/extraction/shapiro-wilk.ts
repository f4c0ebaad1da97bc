// The Shapiro–Wilk W test of normality with Royston's approximations, for 3 <= n <= 5000.
//
// Coefficients a_i: Royston, P. (1992) "Approximating the Shapiro-Wilk W-test for non-normality",
// Statistics and Computing 2, 117–119, as revised in Royston, P. (1995) "Remark AS R94: A remark on
// algorithm AS 181: The W-test for normality", Applied Statistics 44(4), 547–551: the expected normal
// order statistics m_i = Φ⁻¹((i − 3/8)/(n + 1/4)), the two outermost weights from fifth-degree
// polynomials in 1/√n, the rest m_i scaled so that Σa_i² = 1. The p-value is the upper tail of a
// normal approximation of ln(1 − W) (n >= 12) or of −ln(γ − ln(1 − W)) (4 <= n <= 11), with the
// polynomials of the same papers; exact for n = 3. Checked against scipy.stats.shapiro in the tests.
import { normalQuantile, normalUpperTail } from './normal.js';

export interface ShapiroWilkResult {
  /** The statistic, in (0, 1]; near 1 for normal data. */
  w: number;
  /** Probability of a W this small or smaller under normality. */
  p: number;
  n: number;
}

export const SHAPIRO_WILK_MIN_N = 3;
export const SHAPIRO_WILK_MAX_N = 5000;

/** Evaluates c[0] + c[1]·x + c[2]·x² + … */
function poly(c: readonly number[], x: number): number {
  let r = 0;
  for (let i = c.length - 1; i >= 0; i--) r = r * x + c[i]!;
  return r;
}

// Royston (1992, 1995).
const C1 = [0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
const C2 = [0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
const C3 = [0.544, -0.39978, 0.025054, -6.714e-4];
const C4 = [1.3822, -0.77857, 0.062767, -0.0020322];
const C5 = [-1.5861, -0.31082, -0.083751, 0.0038915];
const C6 = [-0.4803, -0.082676, 0.0030302];
const G = [-2.273, 0.459];

// The weights depend on n only; a detector tests the same n over and over.
const weightCache = new Map<number, Float64Array>();

/** The upper half of the antisymmetric weights: a[k] belongs to the k-th largest order statistic. */
export function shapiroWilkWeights(n: number): Float64Array {
  const cached = weightCache.get(n);
  if (cached) return cached;
  const half = Math.floor(n / 2);
  const a = new Float64Array(half);
  if (n === 3) {
    a[0] = Math.SQRT1_2;
  } else {
    // m[k]: expected value of the k-th largest of n standard normals (k = 0 the largest).
    const m = new Float64Array(half);
    let summ2 = 0;
    for (let k = 0; k < half; k++) {
      m[k] = normalQuantile((n - k - 0.375) / (n + 0.25));
      summ2 += 2 * m[k]! * m[k]!;
    }
    const ssumm2 = Math.sqrt(summ2);
    const u = 1 / Math.sqrt(n);
    a[0] = m[0]! / ssumm2 + poly(C1, u);
    let first: number;
    let fac: number;
    if (n > 5) {
      a[1] = m[1]! / ssumm2 + poly(C2, u);
      first = 2;
      fac = Math.sqrt((summ2 - 2 * m[0]! ** 2 - 2 * m[1]! ** 2) / (1 - 2 * a[0]! ** 2 - 2 * a[1]! ** 2));
    } else {
      first = 1;
      fac = Math.sqrt((summ2 - 2 * m[0]! ** 2) / (1 - 2 * a[0]! ** 2));
    }
    for (let k = first; k < half; k++) a[k] = m[k]! / fac;
  }
  if (weightCache.size > 64) weightCache.clear();
  weightCache.set(n, a);
  return a;
}

/**
 * Tests `sample` for normality. Throws a RangeError outside 3..5000 values or on a non-finite
 * value. A sample whose values are all equal gets W = 1 and p = 1 (no evidence either way).
 *
 * @example
 * shapiroWilk([2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8]).w; // ≈ 0.96
 */
export function shapiroWilk(sample: ArrayLike<number>): ShapiroWilkResult {
  const n = sample.length;
  if (n < SHAPIRO_WILK_MIN_N || n > SHAPIRO_WILK_MAX_N) throw new RangeError(`Shapiro-Wilk needs ${SHAPIRO_WILK_MIN_N}..${SHAPIRO_WILK_MAX_N} values, got ${n}`);
  const y = Float64Array.from(sample);
  for (const v of y) if (!Number.isFinite(v)) throw new RangeError('Shapiro-Wilk needs finite values');
  y.sort();
  if (y[n - 1]! - y[0]! <= 1e-300) return { w: 1, p: 1, n };
  const a = shapiroWilkWeights(n);
  let mean = 0;
  for (const v of y) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of y) ss += (v - mean) * (v - mean);
  let num = 0;
  for (let k = 0; k < a.length; k++) num += a[k]! * (y[n - 1 - k]! - y[k]!);
  const w = Math.min(1, (num * num) / ss);
  return { w, p: shapiroWilkPValue(w, n), n };
}

/** Royston's p-value of W for a sample of size n. */
export function shapiroWilkPValue(w: number, n: number): number {
  if (n === 3) {
    // Exact: p = 6/π·(asin √W − asin √(3/4)).
    return Math.min(1, Math.max(0, (6 / Math.PI) * (Math.asin(Math.sqrt(w)) - Math.asin(Math.sqrt(0.75)))));
  }
  const y = Math.log(1 - w);
  if (!Number.isFinite(y)) return 1;
  let z: number;
  if (n <= 11) {
    const gamma = poly(G, n);
    if (y >= gamma) return 0;
    const wt = -Math.log(gamma - y);
    z = (wt - poly(C3, n)) / Math.exp(poly(C4, n));
  } else {
    const ln = Math.log(n);
    z = (y - poly(C5, ln)) / Math.exp(poly(C6, ln));
  }
  return normalUpperTail(z);
}
