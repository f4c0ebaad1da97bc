// Backdoor triggers on learned representations, per class:
// - spectral signatures (Tran, Li & Madry, NeurIPS 2018): centre the class's embeddings, take the
//   top right singular vector v (power iteration on the covariance), score each row by
//   ((x − μ)·v)². Poisoned rows share a trigger direction and score high.
// - activation clustering (Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by
//   Activation Clustering", 2018): 2-means on the class's embeddings (initialised by the sign of the
//   projection on v, so it is deterministic); a class whose smaller cluster is well separated
//   (high silhouette) and small is suspicious, and that cluster's rows are the candidates.
// A class is reported when its 2-means split is clear and lopsided: the silhouette is at least
// `minSilhouette` (0.45) and the smaller cluster holds between `minSmallShare` (5%) and
// `maxSmallShare` (45%) of the class. Cost per class of m rows and k dimensions: O(iters·m·k + k²·m).
import { mulberry32 } from './stats.js';

export interface BackdoorOptions {
  minSilhouette?: number;
  maxSmallShare?: number;
  /** Smallest share of the class the small cluster must hold (tiny clusters are ordinary outliers). */
  minSmallShare?: number;
  /** Rows sampled per class for the silhouette. */
  silhouetteSample?: number;
  seed?: number;
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
    const suspicious = smallCount >= 3 && silhouette >= minSil && smallShare <= maxShare && smallShare >= minShare;
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
    classes.push({ label, size: m, silhouette, smallShare, smallCluster, suspicious, spectralOutliers });
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
