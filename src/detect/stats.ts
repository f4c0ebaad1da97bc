// Statistics used by the detectors: exponentially weighted mean/variance, distribution distances
// (PSI, Jensen–Shannon, chi-square) and two-sample tests for numeric data (Kolmogorov–Smirnov,
// Wasserstein-1). Pure functions over arrays and numbers; no I/O.

/** Exponentially weighted mean and variance (West's incremental form). */
export class Ewma {
  mean = 0;
  variance = 0;
  n = 0;
  constructor(readonly alpha: number) {}

  update(x: number): void {
    if (this.n === 0) {
      this.mean = x;
      this.variance = 0;
    } else {
      const d = x - this.mean;
      const incr = this.alpha * d;
      this.mean += incr;
      this.variance = (1 - this.alpha) * (this.variance + d * incr);
    }
    this.n++;
  }

  get sd(): number {
    return Math.sqrt(Math.max(0, this.variance));
  }
}

function normalise(counts: readonly number[], eps: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const k = counts.length;
  // Additive smoothing so empty bins do not make the log terms infinite.
  return counts.map((c) => (c + eps) / (total + eps * k));
}

/**
 * Population Stability Index between a reference and a current histogram (same bins).
 * Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 */
export function psi(reference: readonly number[], current: readonly number[], eps = 0.5): number {
  if (reference.length !== current.length) throw new RangeError('psi: histograms differ in length');
  const p = normalise(reference, eps);
  const q = normalise(current, eps);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (q[i]! - p[i]!) * Math.log(q[i]! / p[i]!);
  return s;
}

/** Jensen–Shannon divergence in bits (0 = same, 1 = disjoint). */
export function jensenShannon(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('jensenShannon: histograms differ in length');
  const p = normalise(a, 0);
  const q = normalise(b, 0);
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) s += 0.5 * p[i]! * Math.log2(p[i]! / m);
    if (q[i]! > 0) s += 0.5 * q[i]! * Math.log2(q[i]! / m);
  }
  return Math.max(0, s);
}

/** ln Γ(x), Lanczos approximation (g = 7, n = 9). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper regularized incomplete gamma Q(s, x) (series / continued fraction, Numerical Recipes §6.2). */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-14) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-x + s * Math.log(x) - logGamma(s)));
  }
  let b = x + 1 - s;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return Math.min(1, Math.exp(-x + s * Math.log(x) - logGamma(s)) * h);
}

/**
 * Chi-square test of homogeneity between two histograms (2 × k contingency table). Bins empty in
 * both are left out. Returns the statistic, degrees of freedom and p-value.
 */
export function chiSquare(a: readonly number[], b: readonly number[]): { statistic: number; df: number; pValue: number } {
  if (a.length !== b.length) throw new RangeError('chiSquare: histograms differ in length');
  const na = a.reduce((x, y) => x + y, 0);
  const nb = b.reduce((x, y) => x + y, 0);
  const n = na + nb;
  let stat = 0;
  let bins = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i]! + b[i]!;
    if (col === 0) continue;
    bins++;
    const ea = (col * na) / n;
    const eb = (col * nb) / n;
    stat += (a[i]! - ea) ** 2 / ea + (b[i]! - eb) ** 2 / eb;
  }
  const df = Math.max(1, bins - 1);
  if (na === 0 || nb === 0) return { statistic: 0, df, pValue: 1 };
  return { statistic: stat, df, pValue: gammaQ(df / 2, stat / 2) };
}

/** Two-sample Kolmogorov–Smirnov test: statistic D and asymptotic p-value. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): { statistic: number; pValue: number } {
  if (a.length === 0 || b.length === 0) return { statistic: 0, pValue: 1 };
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  // Kolmogorov distribution tail Q_KS(lambda) = 2 Σ (-1)^(k-1) exp(-2 k² λ²).
  let p = 0;
  if (lambda < 1e-3) p = 1;
  else {
    for (let k = 1; k <= 100; k++) {
      const term = 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
      p += term;
      if (Math.abs(term) < 1e-12) break;
    }
  }
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)) };
}

/** Wasserstein-1 (earth mover's) distance between two empirical distributions. */
export function wasserstein1(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  const all = [...x, ...y].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let w = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const v = all[k]!;
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    w += Math.abs(i / x.length - j / y.length) * (all[k + 1]! - v);
  }
  return w;
}

/** Counts values into `bins` equal-width bins over [lo, hi]; values outside go to the edge bins. */
export function histogram(values: readonly number[], bins: number, lo: number, hi: number): number[] {
  const h = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins || 1;
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / w)));
    h[i]!++;
  }
  return h;
}

export function meanOf(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

export function sdOf(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}
