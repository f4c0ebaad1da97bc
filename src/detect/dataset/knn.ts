// Approximate k nearest neighbours (Euclidean) with a random-projection forest plus one round of
// neighbour-of-neighbour refinement (the local-join step of NN-descent, Dong et al. 2011).
// Each tree splits a node by the hyperplane halfway between two random points of it until leaves
// hold at most `leafSize` rows; every pair inside a leaf is a candidate. Cost for n rows, d
// features, T trees, leaf size L: building O(T·n·d·log(n/L)), leaf joins O(T·n·L·d), refinement
// O(n·k²·d) — sub-quadratic in n. Missing values must be imputed first.
import { mulberry32 } from './stats.js';

export interface KnnGraph {
  k: number;
  /** n × k neighbour indices (-1 when fewer than k were found), nearest first. */
  idx: Int32Array;
  /** n × k squared distances, matching idx. */
  dist: Float64Array;
}

export interface KnnOptions {
  k?: number;
  trees?: number;
  leafSize?: number;
  refine?: boolean;
  seed?: number;
}

export function approximateKnn(X: Float64Array, n: number, d: number, o: KnnOptions = {}): KnnGraph {
  const k = Math.min(o.k ?? 10, Math.max(1, n - 1));
  const trees = o.trees ?? 6;
  const leafSize = Math.max(k + 1, o.leafSize ?? 32);
  const rnd = mulberry32(o.seed ?? 42);
  const idx = new Int32Array(n * k).fill(-1);
  const dist = new Float64Array(n * k).fill(Infinity);
  const sq = (a: number, b: number) => {
    let s = 0;
    const oa = a * d;
    const ob = b * d;
    for (let j = 0; j < d; j++) {
      const t = X[oa + j]! - X[ob + j]!;
      s += t * t;
    }
    return s;
  };
  const push = (i: number, j: number, dd: number) => {
    const base = i * k;
    if (dd >= dist[base + k - 1]!) return;
    for (let t = 0; t < k; t++) if (idx[base + t] === j) return;
    let t = k - 1;
    while (t > 0 && dist[base + t - 1]! > dd) {
      dist[base + t] = dist[base + t - 1]!;
      idx[base + t] = idx[base + t - 1]!;
      t--;
    }
    dist[base + t] = dd;
    idx[base + t] = j;
  };
  const all = new Int32Array(n);
  const side = new Float64Array(n);
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < n; i++) all[i] = i;
    const stack: [number, number][] = [[0, n]];
    while (stack.length) {
      const [lo, hi] = stack.pop()!;
      const size = hi - lo;
      if (size <= leafSize) {
        for (let a = lo; a < hi; a++) {
          for (let b = a + 1; b < hi; b++) {
            const i = all[a]!;
            const j = all[b]!;
            const dd = sq(i, j);
            push(i, j, dd);
            push(j, i, dd);
          }
        }
        continue;
      }
      // Hyperplane halfway between two random points: normal p - q, offset through the midpoint.
      const p = all[lo + Math.floor(rnd() * size)]!;
      let q = all[lo + Math.floor(rnd() * size)]!;
      for (let tries = 0; tries < 5 && sq(p, q) === 0; tries++) q = all[lo + Math.floor(rnd() * size)]!;
      let off = 0;
      for (let j = 0; j < d; j++) off += (X[p * d + j]! - X[q * d + j]!) * (X[p * d + j]! + X[q * d + j]!) / 2;
      for (let a = lo; a < hi; a++) {
        const i = all[a]!;
        let s = -off;
        for (let j = 0; j < d; j++) s += (X[p * d + j]! - X[q * d + j]!) * X[i * d + j]!;
        side[i] = s;
      }
      // Partition by sign; identical points (all zero) are split by a coin so recursion ends.
      let a = lo;
      let b = hi - 1;
      while (a <= b) {
        const i = all[a]!;
        const s = side[i]!;
        const left = s < 0 || (s === 0 && rnd() < 0.5);
        if (left) a++;
        else {
          all[a] = all[b]!;
          all[b] = i;
          b--;
        }
      }
      let mid = a;
      if (mid === lo || mid === hi) mid = lo + (size >>> 1);
      stack.push([lo, mid], [mid, hi]);
    }
  }
  if (o.refine ?? true) {
    // One local join: neighbours of neighbours are candidates.
    const snapshot = Int32Array.from(idx);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < k; a++) {
        const j = snapshot[i * k + a]!;
        if (j < 0) continue;
        for (let b = 0; b < k; b++) {
          const m = snapshot[j * k + b]!;
          if (m < 0 || m === i) continue;
          push(i, m, sq(i, m));
        }
      }
    }
  }
  return { k, idx, dist };
}

/** Exact k-NN by brute force, O(n²·d): the reference the approximate graph is tested against. */
export function exactKnn(X: Float64Array, n: number, d: number, k: number): KnnGraph {
  const idx = new Int32Array(n * k).fill(-1);
  const dist = new Float64Array(n * k).fill(Infinity);
  for (let i = 0; i < n; i++) {
    const ds: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const u = X[i * d + t]! - X[j * d + t]!;
        s += u * u;
      }
      ds.push([s, j]);
    }
    ds.sort((a, b) => a[0] - b[0]);
    for (let t = 0; t < Math.min(k, ds.length); t++) {
      dist[i * k + t] = ds[t]![0];
      idx[i * k + t] = ds[t]![1];
    }
  }
  return { k, idx, dist };
}
