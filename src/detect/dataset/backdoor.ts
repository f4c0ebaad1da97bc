// Backdoor triggers on learned representations, per class:
// - spectral signatures (Tran, Li & Madry, NeurIPS 2018): centre the class's embeddings, take the
//   top right singular vector v (power iteration on the covariance), score each row by
//   ((x − μ)·v)². Poisoned rows share a trigger direction and score high.
// - activation clustering (Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by
//   Activation Clustering", 2018): 2-means on the class's embeddings (initialised by the sign of the
//   projection on v, so it is deterministic); the smaller cluster (between `minSmallShare`, 5%, and
//   `maxSmallShare`, 45%, of the class) is the candidate sub-population.
// Deciding whether the candidate is poison:
// - with `reclassify` (the scanner passes input-space exclusionary reclassification): the share of
//   the cluster's sampled rows whose nearest rows outside the cluster are confidently of one other
//   class (`confidentShare`) must be at least `minConfidentShare` (0.6) at 95% confidence (one-sided
//   Wilson lower bound over the sampled rows, so small clusters need a larger share). Relabelled
//   inputs of other classes are confidently those classes; a natural second style of the class, once
//   its cluster is removed, lands between classes with split votes. No silhouette gate: a trigger cluster can be
//   weakly separated in the embeddings (its rows keep features of their source classes) and still
//   be unmistakable in input space.
// - without it (embeddings only): the split must be clear, a silhouette of at least `minSilhouette`
//   (0.45).
// Cost per class of m rows and k dimensions: O(iters·m·k + k²·m).
import { mulberry32 } from './stats.js';

export interface BackdoorOptions {
  minSilhouette?: number;
  maxSmallShare?: number;
  /** Smallest share of the class the small cluster must hold (tiny clusters are ordinary outliers). */
  minSmallShare?: number;
  /** Rows sampled per class for the silhouette. */
  silhouetteSample?: number;
  seed?: number;
  /**
   * Exclusionary reclassification (Chen et al.): given the small cluster's rows and the class, how a
   * classifier that never saw the cluster classifies them (see `reclassifyCluster`). When given, a
   * class is suspicious when the 95% lower confidence bound of `confidentShare` is at least
   * `minConfidentShare` (instead of the silhouette test).
   */
  reclassify?: (rows: number[], label: number) => Reclassification;
  /** Smallest share of the cluster confidently reclassified to one other class, at 95% confidence (default 0.6). */
  minConfidentShare?: number;
}

export interface Reclassification {
  /** Share of the sampled rows whose majority vote is another class. */
  foreignShare: number;
  /** Share of the sampled rows whose votes are, for at least `confidentVotes` of them, one other class. */
  confidentShare: number;
  /** Rows of the cluster sampled. */
  sampled: number;
}

/** One-sided lower confidence bound (Wilson score, z = 1.645, 95%) of a proportion p observed on m trials. */
export function wilsonLower(p: number, m: number, z = 1.645): number {
  if (m <= 0) return 0;
  const z2 = z * z;
  return Math.max(0, (p + z2 / (2 * m) - z * Math.sqrt((p * (1 - p)) / m + z2 / (4 * m * m))) / (1 + z2 / m));
}

export interface ClassBackdoorResult {
  label: number;
  size: number;
  silhouette: number;
  smallShare: number;
  /** Rows of the smaller cluster (dataset indices). */
  smallCluster: number[];
  suspicious: boolean;
  /** Rows of the class whose spectral score is above the split between the two clusters. */
  spectralOutliers: number[];
  /** Share of the small cluster reclassified to another class (when `reclassify` was given). */
  foreignShare?: number;
  /** Share of the small cluster confidently reclassified to one other class (when `reclassify` was given). */
  confidentShare?: number;
  /** One-sided 95% Wilson lower bound of `confidentShare`. */
  confidentLower?: number;
}

export interface BackdoorResult {
  /** Spectral score of each row within its class (0 for unlabelled rows). */
  spectral: Float64Array;
  classes: ClassBackdoorResult[];
}

export function detectBackdoor(E: Float64Array, n: number, k: number, y: Int32Array, c: number, o: BackdoorOptions = {}): BackdoorResult {
  const minSil = o.minSilhouette ?? 0.45;
  const maxShare = o.maxSmallShare ?? 0.45;
  const minShare = o.minSmallShare ?? 0.05;
  const minConfident = o.minConfidentShare ?? 0.6;
  const spectral = new Float64Array(n);
  const classes: ClassBackdoorResult[] = [];
  const rnd = mulberry32(o.seed ?? 7);
  for (let label = 0; label < c; label++) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (y[i] === label) rows.push(i);
    const m = rows.length;
    if (m < 10) continue;
    const mu = new Float64Array(k);
    for (const i of rows) for (let t = 0; t < k; t++) mu[t]! += E[i * k + t]! / m;
    // Covariance k × k, then power iteration for the top eigenvector.
    const C = new Float64Array(k * k);
    const x = new Float64Array(k);
    for (const i of rows) {
      for (let t = 0; t < k; t++) x[t] = E[i * k + t]! - mu[t]!;
      for (let a = 0; a < k; a++) {
        const xa = x[a]!;
        if (xa === 0) continue;
        for (let b = 0; b < k; b++) C[a * k + b]! += xa * x[b]!;
      }
    }
    let v = new Float64Array(k).map(() => rnd() - 0.5);
    for (let it = 0; it < 100; it++) {
      const w = new Float64Array(k);
      for (let a = 0; a < k; a++) {
        let s = 0;
        for (let b = 0; b < k; b++) s += C[a * k + b]! * v[b]!;
        w[a] = s;
      }
      const norm = Math.hypot(...w) || 1;
      for (let a = 0; a < k; a++) w[a]! /= norm;
      v = w;
    }
    const proj = new Float64Array(m);
    rows.forEach((i, r) => {
      let s = 0;
      for (let t = 0; t < k; t++) s += (E[i * k + t]! - mu[t]!) * v[t]!;
      proj[r] = s;
      spectral[i] = s * s;
    });
    // 2-means on the embeddings, seeded by the sign of the projection.
    const assign = new Uint8Array(m);
    for (let r = 0; r < m; r++) assign[r] = proj[r]! > 0 ? 1 : 0;
    const cent = [new Float64Array(k), new Float64Array(k)];
    for (let it = 0; it < 30; it++) {
      const cnt = [0, 0];
      cent[0]!.fill(0);
      cent[1]!.fill(0);
      rows.forEach((i, r) => {
        const a = assign[r]!;
        cnt[a]!++;
        for (let t = 0; t < k; t++) cent[a]![t]! += E[i * k + t]!;
      });
      if (cnt[0] === 0 || cnt[1] === 0) break;
      for (let a = 0; a < 2; a++) for (let t = 0; t < k; t++) cent[a]![t]! /= cnt[a]!;
      let changed = 0;
      rows.forEach((i, r) => {
        let d0 = 0;
        let d1 = 0;
        for (let t = 0; t < k; t++) {
          const e = E[i * k + t]!;
          d0 += (e - cent[0]![t]!) ** 2;
          d1 += (e - cent[1]![t]!) ** 2;
        }
        const a = d1 < d0 ? 1 : 0;
        if (a !== assign[r]) {
          assign[r] = a;
          changed++;
        }
      });
      if (!changed) break;
    }
    let ones = 0;
    for (let r = 0; r < m; r++) ones += assign[r]!;
    const small = ones <= m - ones ? 1 : 0;
    const smallCount = small === 1 ? ones : m - ones;
    const silhouette = smallCount === 0 ? 0 : silhouetteOf(E, k, rows, assign, o.silhouetteSample ?? 400, rnd);
    const smallShare = smallCount / m;
    const smallCluster = rows.filter((_, r) => assign[r] === small);
    const sized = smallCount >= 3 && smallShare <= maxShare && smallShare >= minShare;
    const re = sized && o.reclassify ? o.reclassify(smallCluster, label) : undefined;
    const confidentLower = re ? wilsonLower(re.confidentShare, re.sampled) : undefined;
    const suspicious = sized && (confidentLower !== undefined ? confidentLower >= minConfident : silhouette >= minSil);
    // Spectral outliers: rows beyond the midpoint between the two clusters' mean projections, on the
    // small cluster's side.
    let spectralOutliers: number[] = [];
    if (suspicious) {
      let ms = 0;
      let mb = 0;
      for (let r = 0; r < m; r++) {
        if (assign[r] === small) ms += proj[r]!;
        else mb += proj[r]!;
      }
      ms /= smallCount;
      mb /= m - smallCount;
      const mid = (ms + mb) / 2;
      spectralOutliers = rows.filter((_, r) => (ms > mb ? proj[r]! > mid : proj[r]! < mid));
    }
    classes.push({ label, size: m, silhouette, smallShare, smallCluster, suspicious, spectralOutliers, ...(re ? { foreignShare: re.foreignShare, confidentShare: re.confidentShare, confidentLower: confidentLower! } : {}) });
  }
  return { spectral, classes };
}

/** Mean silhouette of a 2-cluster assignment over a seeded sample of rows. */
function silhouetteOf(E: Float64Array, k: number, rows: number[], assign: Uint8Array, sample: number, rnd: () => number): number {
  const m = rows.length;
  const pick = m <= sample ? rows.map((_, r) => r) : Array.from({ length: sample }, () => Math.floor(rnd() * m));
  let total = 0;
  for (const r of pick) {
    const i = rows[r]!;
    const sum = [0, 0];
    const cnt = [0, 0];
    for (const s of pick) {
      if (s === r) continue;
      const j = rows[s]!;
      let dd = 0;
      for (let t = 0; t < k; t++) dd += (E[i * k + t]! - E[j * k + t]!) ** 2;
      sum[assign[s]!]! += Math.sqrt(dd);
      cnt[assign[s]!]!++;
    }
    const own = assign[r]!;
    if (cnt[own]! === 0 || cnt[1 - own]! === 0) continue;
    const a = sum[own]! / cnt[own]!;
    const b = sum[1 - own]! / cnt[1 - own]!;
    total += (b - a) / Math.max(a, b, 1e-12);
  }
  return total / pick.length;
}

/**
 * Exclusionary reclassification in input space: for up to `maxRows` sampled rows of the cluster, the
 * 10 nearest rows outside the cluster (among up to `maxRef` sampled labelled rows, brute force) vote
 * on the class. `foreignShare`: sampled rows whose vote is not `label`; `confidentShare`: sampled rows
 * with at least `confidentVotes` (0.7) of their neighbours in one class other than `label`. Poisoned
 * rows are inputs of other classes carrying a trigger, so without their own cluster they look
 * plainly like those classes; a natural sub-style of a class still looks like its class, or falls
 * between classes with split votes.
 *
 * `F` is one feature matrix, or several scalings of it (e.g. standardised and raw): then the
 * scalings are compared on the data the classifier is built from, the rows outside the cluster, by
 * the leave-one-out accuracy of `probeRows` (500) sampled rows among `probeRef` (5,000); comparing
 * on all rows would let a trigger cluster vote for the scaling under which its rows find each other.
 * Every scaling within `scalingTolerance` (0.02) of the best is used, and the one with the highest
 * `confidentShare` reported: when two scalings classify equally well, the choice between them is
 * noise, and a trigger that dominates the distances under one of them (a saturated patch in
 * standardised pixels) must not hide the cluster. Cost O(s·(probeRows·probeRef + maxRows·maxRef)·d)
 * for s scalings.
 */
export function reclassifyCluster(
  F: Float64Array | Float64Array[],
  n: number,
  d: number,
  y: Int32Array,
  cluster: number[],
  label: number,
  o: { maxRows?: number; maxRef?: number; probeRows?: number; probeRef?: number; scalingTolerance?: number; confidentVotes?: number; seed?: number } = {},
): Reclassification & { scaling: number } {
  const spaces = Array.isArray(F) ? F : [F];
  const rnd = mulberry32(o.seed ?? 7);
  const inCluster = new Uint8Array(n);
  for (const i of cluster) inCluster[i] = 1;
  const sample = <T>(a: T[], m: number): T[] => {
    const b = [...a];
    for (let t = 0; t < Math.min(m, b.length); t++) {
      const j = t + Math.floor(rnd() * (b.length - t));
      [b[t], b[j]] = [b[j]!, b[t]!];
    }
    return b.slice(0, m);
  };
  const ref: number[] = [];
  for (let i = 0; i < n; i++) if (!inCluster[i] && y[i]! >= 0) ref.push(i);
  const refs = sample(ref, o.maxRef ?? 20_000);
  const rows = sample(cluster, o.maxRows ?? 200);
  if (refs.length === 0 || rows.length === 0) return { foreignShare: 0, confidentShare: 0, sampled: rows.length, scaling: 0 };
  const k = Math.min(10, refs.length - (spaces.length > 1 ? 1 : 0));
  const bestD = new Float64Array(k);
  const bestY = new Int32Array(k);
  // Labels of the k nearest reference rows of row i (skipping i itself) under scaling Z.
  const neighbours = (Z: Float64Array, i: number, among = refs): Int32Array => {
    bestD.fill(Infinity);
    for (const j of among) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const u = Z[i * d + t]! - Z[j * d + t]!;
        s += u * u;
      }
      if (s >= bestD[k - 1]!) continue;
      let p = k - 1;
      while (p > 0 && bestD[p - 1]! > s) {
        bestD[p] = bestD[p - 1]!;
        bestY[p] = bestY[p - 1]!;
        p--;
      }
      bestD[p] = s;
      bestY[p] = y[j]!;
    }
    return bestY;
  };
  const tally = (ys: Int32Array): Map<number, number> => {
    const votes = new Map<number, number>();
    for (let t = 0; t < k; t++) votes.set(ys[t]!, (votes.get(ys[t]!) ?? 0) + 1);
    return votes;
  };
  const majority = (votes: Map<number, number>, prefer: number): number => {
    let top = prefer;
    let topV = votes.get(prefer) ?? 0;
    for (const [c, v] of votes) if (v > topV) [top, topV] = [c, v];
    return top;
  };
  // Scalings whose leave-one-out accuracy on the probe is within `scalingTolerance` of the best.
  let usable = spaces.map((_, s) => s);
  if (spaces.length > 1 && k > 0) {
    const among = sample(refs, o.probeRef ?? 5_000);
    const probe = among.slice(0, o.probeRows ?? 500);
    const hits = spaces.map((Z) => {
      let hit = 0;
      for (const i of probe) if (majority(tally(neighbours(Z, i, among)), y[i]!) === y[i]) hit++;
      return hit / probe.length;
    });
    const best = Math.max(...hits);
    usable = usable.filter((s) => hits[s]! >= best - (o.scalingTolerance ?? 0.02));
  }
  const need = Math.ceil((o.confidentVotes ?? 0.7) * k - 1e-9);
  let out = { foreignShare: 0, confidentShare: -1, sampled: rows.length, scaling: 0 };
  for (const s of usable) {
    const Z = spaces[s]!;
    let foreign = 0;
    let confident = 0;
    for (const i of rows) {
      const votes = tally(neighbours(Z, i));
      if (majority(votes, label) !== label) foreign++;
      let otherV = 0;
      for (const [c, v] of votes) if (c !== label) otherV = Math.max(otherV, v);
      if (otherV >= need) confident++;
    }
    if (confident / rows.length > out.confidentShare) out = { foreignShare: foreign / rows.length, confidentShare: confident / rows.length, sampled: rows.length, scaling: s };
  }
  return out;
}
