// Mahalanobis distance with a shrunk covariance. The sample covariance of a few hundred rows of
// tens of features is poorly conditioned (background pixels that never vary have zero variance);
// Ledoit–Wolf shrinkage towards a scaled identity picks the mix that minimises the expected
// squared error, in closed form, and always yields an invertible matrix.
//
// Reference: O. Ledoit, M. Wolf, "A well-conditioned estimator for large-dimensional covariance
// matrices", J. Multivariate Analysis 88 (2004).

export interface GaussianModel {
  mean: number[];
  /** Shrinkage intensity used (0 = sample covariance, 1 = scaled identity). */
  shrinkage: number;
  /** Shrunk covariance, row-major d × d. */
  covariance: number[];
  /** Its inverse (precision matrix), row-major d × d. */
  precision: number[];
}

/**
 * Fits the mean and the Ledoit–Wolf shrunk covariance of `x` (n rows × d features, row-major),
 * and inverts it. Throws a RangeError when n < 2.
 */
export function fitLedoitWolf(x: ArrayLike<number>, n: number, d: number): GaussianModel {
  if (n < 2) throw new RangeError('at least two rows are needed for a covariance');
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  const s = new Float64Array(d * d);
  const c = new Float64Array(d);
  let sumNorm4 = 0;
  for (let i = 0; i < n; i++) {
    let norm2 = 0;
    for (let j = 0; j < d; j++) {
      c[j] = x[i * d + j]! - mean[j]!;
      norm2 += c[j]! * c[j]!;
    }
    sumNorm4 += norm2 * norm2;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) s[row + b] = s[row + b]! + ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = s[a * d + b]! / n;
      s[a * d + b] = v;
      s[b * d + a] = v;
    }
  }
  let trace = 0;
  let frob2 = 0;
  for (let a = 0; a < d; a++) trace += s[a * d + a]!;
  for (let k = 0; k < d * d; k++) frob2 += s[k]! * s[k]!;
  const mu = trace / d;
  // ||S - mu I||² = ||S||² - 2 mu tr(S) + mu² d = ||S||² - d mu².
  const dist2 = Math.max(0, frob2 - d * mu * mu);
  // (1/n²) Σ ||x xᵀ - S||² = (Σ ||x||⁴ / n - ||S||²) / n.
  const bBar2 = Math.max(0, (sumNorm4 / n - frob2) / n);
  const shrinkage = dist2 > 0 ? Math.min(1, bBar2 / dist2) : 1;
  const target = mu > 0 ? mu : 1;
  const cov = new Float64Array(d * d);
  for (let k = 0; k < d * d; k++) cov[k] = (1 - shrinkage) * s[k]!;
  // A tiny ridge keeps the Cholesky factorisation stable when mu is 0 (all rows equal).
  for (let a = 0; a < d; a++) cov[a * d + a] = cov[a * d + a]! + shrinkage * target + 1e-9 * target;
  return { mean: Array.from(mean), shrinkage, covariance: Array.from(cov), precision: Array.from(invertSpd(cov, d)) };
}

/** Inverse of a symmetric positive definite matrix (row-major d × d) by Cholesky factorisation. */
export function invertSpd(m: ArrayLike<number>, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = m[i * d + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new RangeError('matrix is not positive definite');
        l[i * d + i] = Math.sqrt(sum);
      } else l[i * d + j] = sum / l[j * d + j]!;
    }
  }
  // inv(L) by forward substitution, then inv(M) = inv(L)ᵀ inv(L).
  const li = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    li[i * d + i] = 1 / l[i * d + i]!;
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum += l[i * d + k]! * li[k * d + j]!;
      li[i * d + j] = -sum / l[i * d + i]!;
    }
  }
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let k = i; k < d; k++) sum += li[k * d + i]! * li[k * d + j]!;
      inv[i * d + j] = sum;
      inv[j * d + i] = sum;
    }
  }
  return inv;
}

/** Mahalanobis distance √((x − μ)ᵀ Σ⁻¹ (x − μ)) of one row. */
export function mahalanobis(model: Pick<GaussianModel, 'mean' | 'precision'>, row: ArrayLike<number>): number {
  const d = model.mean.length;
  const c = new Float64Array(d);
  for (let j = 0; j < d; j++) c[j] = row[j]! - model.mean[j]!;
  const p = model.precision;
  let s = 0;
  for (let a = 0; a < d; a++) {
    const ca = c[a]!;
    if (ca === 0) continue;
    let t = 0;
    const r = a * d;
    for (let b = 0; b < d; b++) t += p[r + b]! * c[b]!;
    s += ca * t;
  }
  return Math.sqrt(Math.max(0, s));
}
