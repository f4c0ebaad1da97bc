// Label noise by confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating
// Uncertainty in Dataset Labels", JAIR 2021) fed with out-of-sample class probabilities from a
// k-nearest-neighbour vote that leaves each row out (a row is never its own neighbour).
// Per class j the threshold t_j is the mean predicted probability of j over rows labelled j. A row
// labelled i counts towards the confident joint C[i][j] for the class j with the highest p_j among
// those with p_j ≥ t_j; rows on the off-diagonal (j ≠ i) are label issues, ranked by the margin
// p_j − p_i. A row for which no class reaches its threshold is also an issue when its argmax class
// differs from the given label and the given label is below its own threshold. O(n·k + n·c).
import type { KnnGraph } from './knn.js';

export interface LabelNoiseResult {
  /** n × c out-of-sample probabilities. */
  probs: Float64Array;
  thresholds: Float64Array;
  /** c × c confident joint (rows: given label, columns: likely true label). */
  joint: Int32Array;
  issues: { row: number; given: number; likely: number; pGiven: number; pLikely: number; margin: number }[];
}

/**
 * Leave-one-out k-NN class probabilities with inverse-distance weights and add-`alpha` smoothing.
 * `y[i]` is a class index in 0..c-1 (negative = unlabelled, ignored as a voter and as a row).
 */
export function knnProbabilities(g: KnnGraph, y: Int32Array, c: number, alpha = 0.5, k = g.k): Float64Array {
  const n = y.length;
  const probs = new Float64Array(n * c);
  const kk = Math.min(k, g.k);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let t = 0; t < kk; t++) {
      const j = g.idx[i * g.k + t]!;
      if (j < 0 || y[j]! < 0) continue;
      const w = 1 / (1 + Math.sqrt(g.dist[i * g.k + t]!));
      probs[i * c + y[j]!]! += w;
      total += w;
    }
    // Smoothing keeps a row with few voters from being "certain".
    const denom = total + alpha;
    for (let a = 0; a < c; a++) {
      const wNorm = total > 0 ? probs[i * c + a]! / total : 0;
      probs[i * c + a] = (wNorm * total + alpha / c) / denom;
    }
  }
  return probs;
}

/**
 * `minMargin` (default 0.2): an issue is reported only when the likely class beats the given one by
 * at least this much probability; borderline rows between two classes are ambiguous, not errors.
 */
export function confidentLearning(probs: Float64Array, y: Int32Array, c: number, minMargin = 0.2): LabelNoiseResult {
  const n = y.length;
  const thresholds = new Float64Array(c);
  const counts = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    if (yi < 0) continue;
    thresholds[yi]! += probs[i * c + yi]!;
    counts[yi]!++;
  }
  for (let a = 0; a < c; a++) thresholds[a] = counts[a]! > 0 ? thresholds[a]! / counts[a]! : 1;
  const joint = new Int32Array(c * c);
  const issues: LabelNoiseResult['issues'] = [];
  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    if (yi < 0) continue;
    let best = -1;
    let bestP = -1;
    for (let a = 0; a < c; a++) {
      const p = probs[i * c + a]!;
      if (p >= thresholds[a]! && p > bestP) {
        best = a;
        bestP = p;
      }
    }
    if (best < 0) {
      // No class is confidently predicted (a flipped row whose neighbours include other noise):
      // still an issue when the plain argmax disagrees and the given label is below its threshold.
      let arg = 0;
      for (let a = 1; a < c; a++) if (probs[i * c + a]! > probs[i * c + arg]!) arg = a;
      const pGiven = probs[i * c + yi]!;
      if (arg !== yi && pGiven < thresholds[yi]!) issues.push({ row: i, given: yi, likely: arg, pGiven, pLikely: probs[i * c + arg]!, margin: probs[i * c + arg]! - pGiven });
      continue;
    }
    joint[yi * c + best]!++;
    if (best !== yi) {
      const pGiven = probs[i * c + yi]!;
      issues.push({ row: i, given: yi, likely: best, pGiven, pLikely: bestP, margin: bestP - pGiven });
    }
  }
  const kept = issues.filter((x) => x.margin >= minMargin);
  kept.sort((a, b) => b.margin - a.margin || a.row - b.row);
  return { probs, thresholds, joint, issues: kept };
}

/** Mean negative log-likelihood of the given labels (rows with y ≥ 0), probabilities floored at 1e-6. */
export function logLoss(probs: Float64Array, y: Int32Array, c: number): number {
  let s = 0;
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0) continue;
    s -= Math.log(Math.max(1e-6, probs[i * c + y[i]!]!));
    m++;
  }
  return m ? s / m : 0;
}
