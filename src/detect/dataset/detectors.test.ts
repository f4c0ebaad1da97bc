import { describe, expect, it } from 'vitest';
import { detectBackdoor, reclassifyCluster, wilsonLower } from './backdoor.js';
import { balanceShift, outOfRange, profileColumn } from './column-profile.js';
import { exactDuplicates } from './duplicates.js';
import { approximateKnn, exactKnn } from './knn.js';
import { confidentLearning, knnProbabilities } from './label-noise.js';
import { sourceStats } from './provenance.js';
import { cutOutliers, featureOutliers, robustMahalanobis, robustScale } from './robust-outliers.js';
import { median, mulberry32, select } from './stats.js';

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** c well-separated Gaussian blobs in d dims, m rows each. */
function blobs(seed: number, c: number, m: number, d: number, spread = 8) {
  const r = mulberry32(seed);
  const centres = Array.from({ length: c }, () => Array.from({ length: d }, () => gauss(r) * spread));
  const n = c * m;
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % c;
    for (let j = 0; j < d; j++) X[i * d + j] = centres[y[i]!]![j]! + gauss(r);
  }
  return { X, y, n, d, r };
}

describe('stats', () => {
  it('select and median agree with sorting', () => {
    const r = mulberry32(3);
    const a = Float64Array.from({ length: 1001 }, () => r());
    const s = Float64Array.from(a).sort();
    expect(select(Float64Array.from(a), 10)).toBe(s[10]);
    expect(median(a)).toBe(s[500]);
    expect(median([4, 1, NaN, 3, 2])).toBe(2.5);
  });
});

describe('robust outliers', () => {
  it('flags exactly the planted per-feature and multivariate outliers', () => {
    const { X, n, d } = blobs(1, 1, 2000, 6, 0);
    X[10 * d + 2] = 40; // one wild feature
    // a row that is ordinary per feature but breaks the correlation structure: make features 0/1
    // strongly correlated everywhere, then anti-correlate row 20.
    for (let i = 0; i < n; i++) X[i * d + 1] = X[i * d]! + 0.05 * (X[i * d + 1]! - X[i * d]!);
    X[20 * d] = 2.5;
    X[20 * d + 1] = -2.5;
    const s = robustScale(X, n, d);
    expect(featureOutliers(X, n, d, s, 10).map((o) => o.row)).toEqual([10]);
    const m = robustMahalanobis(X, n, d, s);
    const flagged = [...m.score].flatMap((z, i) => (z > 6 ? [i] : []));
    expect(flagged).toEqual([10, 20]);
  });
  it('cuts multivariate scores at the documented share: nothing on Gaussian data, at most 0.5% of heavy-tailed data, every planted row listed', () => {
    const scores = (X: Float64Array, n: number, d: number) => robustMahalanobis(X, n, d, robustScale(X, n, d)).score;
    // Gaussian: the normal model explains every row, so Benjamini–Hochberg rejects none.
    const g = blobs(5, 1, 5000, 6, 0);
    const cg = cutOutliers(scores(g.X, g.n, g.d));
    expect([cg.strong.length, cg.weak.length]).toEqual([0, 0]);
    // Student t with 3 degrees of freedom: far tails everywhere, but at most ⌊0.005·n⌋ rows at medium.
    const r = mulberry32(6);
    const n = 8000;
    const d = 6;
    const T = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const s = Math.sqrt((gauss(r) ** 2 + gauss(r) ** 2 + gauss(r) ** 2) / 3);
      for (let j = 0; j < d; j++) T[i * d + j] = gauss(r) / s;
    }
    const ct = cutOutliers(scores(T, n, d));
    expect(ct.strong.length).toBe(40);
    expect(cutOutliers(scores(T, n, d), 0.001).strong.length).toBe(8);
    // 2% planted far rows in Gaussian data: the most distant 0.5% are strong, the rest still listed
    // as weak (the tail fit on the 80%/95% quantiles does not move), and no clean row is listed.
    const planted = new Set<number>();
    for (let i = 0; i < g.n; i++) {
      if (i % 50 === 7) {
        planted.add(i);
        for (let j = 0; j < g.d; j += 2) g.X[i * g.d + j] = 6 + (i % 7);
      }
    }
    const cp = cutOutliers(scores(g.X, g.n, g.d));
    expect(cp.strong.length).toBe(25);
    expect(new Set([...cp.strong, ...cp.weak])).toEqual(planted);
  });
  it('treats any change in a constant column as an outlier', () => {
    const X = new Float64Array(100).fill(1);
    X[37] = 2;
    expect(featureOutliers(X, 100, 1, robustScale(X, 100, 1)).map((o) => o.row)).toEqual([37]);
  });
});

describe('duplicates', () => {
  it('groups exact duplicates and reports conflicting labels', () => {
    const X = Float64Array.from([1, 2, 3, 4, 1, 2, NaN, 0, NaN, 0, -0, 5, 0, 5]);
    const labels = ['a', 'b', 'b', 'c', 'c', 'x', 'x'];
    expect(exactDuplicates(X, 7, 2, labels)).toEqual([
      { rows: [0, 2], labels: ['a', 'b'] },
      { rows: [3, 4], labels: ['c'] },
      { rows: [5, 6], labels: ['x'] },
    ]);
  });
});

describe('approximate k-NN', () => {
  it('finds at least 95% of the exact 10 nearest neighbours', () => {
    const { X, n, d } = blobs(2, 5, 300, 12, 3);
    const a = approximateKnn(X, n, d, { k: 10, seed: 1 });
    const e = exactKnn(X, n, d, 10);
    let hit = 0;
    for (let i = 0; i < n; i++) {
      const s = new Set(e.idx.subarray(i * 10, i * 10 + 10));
      for (let t = 0; t < 10; t++) if (s.has(a.idx[i * 10 + t]!)) hit++;
    }
    expect(hit / (n * 10)).toBeGreaterThan(0.95);
  });
});

describe('confident learning', () => {
  it('finds flipped labels with F1 ≥ 0.95 on separable classes', () => {
    const { X, y, n, d, r } = blobs(3, 4, 250, 8, 4);
    const flipped = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (r() < 0.1) {
        y[i] = (y[i]! + 1 + Math.floor(r() * 3)) % 4;
        flipped.add(i);
      }
    }
    const g = approximateKnn(X, n, d, { k: 10 });
    const res = confidentLearning(knnProbabilities(g, y, 4), y, 4);
    const found = new Set(res.issues.map((x) => x.row));
    const tp = [...found].filter((i) => flipped.has(i)).length;
    const f1 = (2 * tp) / (found.size + flipped.size);
    expect(f1).toBeGreaterThan(0.95);
    let off = 0;
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) if (a !== b) off += res.joint[a * 4 + b]!;
    expect(off).toBeLessThanOrEqual(res.issues.length);
  });
});

describe('backdoor detection', () => {
  it('flags the trigger cluster of the target class and no clean class', () => {
    const { X: E, y, n, d } = blobs(4, 3, 300, 10, 3);
    const r = mulberry32(9);
    const poisoned = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (y[i] !== 0 && r() < 0.1) {
        y[i] = 0;
        poisoned.add(i);
        for (let j = 0; j < d; j++) E[i * d + j] = (j === 0 ? 12 : 0) + 0.5 * gauss(r);
      }
    }
    const res = detectBackdoor(E, n, d, y, 3);
    expect(res.classes.filter((c) => c.suspicious).map((c) => c.label)).toEqual([0]);
    const cl = new Set(res.classes[0]!.smallCluster);
    expect([...poisoned].every((i) => cl.has(i))).toBe(true);
    expect(cl.size).toBe(poisoned.size);
  });
});

describe('backdoor: exclusionary reclassification', () => {
  it('keeps a class whose separate cluster looks like the class in input space, and flags relabelled inputs', () => {
    // Inputs: 3 separable classes. Embeddings: each class a blob, and 20% of class 1 a separate
    // sub-cluster (a natural second style: its inputs are ordinary class-1 inputs).
    const { X, y, n, d } = blobs(7, 3, 300, 6, 6);
    const r = mulberry32(8);
    const k = 8;
    const E = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) E[i * k + t] = (t === y[i]! ? 10 : 0) + 0.5 * gauss(r);
    const style = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (y[i] === 1 && style.size < 60) {
        style.add(i);
        E[i * k + 7] = 12 + 0.5 * gauss(r);
      }
    }
    const reclassify = (rows: number[], label: number) => reclassifyCluster(X, n, d, y, rows, label);
    // Without reclassification the style cluster passes the silhouette test; with it, it does not.
    expect(detectBackdoor(E, n, k, y, 3).classes.filter((c) => c.suspicious).map((c) => c.label)).toEqual([1]);
    const clean = detectBackdoor(E, n, k, y, 3, { reclassify });
    expect(clean.classes.filter((c) => c.suspicious)).toEqual([]);
    expect(clean.classes.find((c) => c.label === 1)!.confidentShare).toBeLessThan(0.1);
    // Poison: 30 inputs of classes 1/2 relabelled 0, with a trigger cluster in the embeddings.
    const poisoned = new Set<number>();
    for (let i = 0; i < n && poisoned.size < 30; i++) {
      if (y[i] === 2) {
        y[i] = 0;
        poisoned.add(i);
        for (let t = 0; t < k; t++) E[i * k + t] = (t === 6 ? 12 : 0) + 0.5 * gauss(r);
      }
    }
    const res = detectBackdoor(E, n, k, y, 3, { reclassify });
    const flagged = res.classes.filter((c) => c.suspicious);
    expect(flagged.map((c) => c.label)).toEqual([0]);
    expect(new Set(flagged[0]!.smallCluster)).toEqual(poisoned);
    expect(flagged[0]!.confidentShare).toBeGreaterThan(0.9);
  });

  /**
   * Like digits seed 104: the trigger rows keep much of their source class in the embeddings, so the
   * target class splits with a silhouette of about 0.3, yet their inputs are plainly other classes.
   * The clean twin has a natural style sub-cluster of the same size and separation whose inputs lie
   * halfway between the class and another one.
   */
  function weakSplit(poison: boolean) {
    const c = 5;
    const { X, y, n, d } = blobs(21, c, 160, 8, 2.2);
    const r = mulberry32(22);
    const k = 12;
    const centres = Array.from({ length: c }, () => Array.from({ length: k }, () => 3 * gauss(r)));
    const E = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) E[i * k + t] = centres[y[i]!]![t]! + gauss(r);
    const sub = new Set<number>();
    for (let i = 0; i < n && sub.size < 60; i++) {
      if (poison ? y[i] === 1 : y[i] !== 1) continue;
      const src = y[i]!;
      sub.add(i);
      if (poison) y[i] = 1;
      // Shifted along one direction of the embedding by about one within-class spread, and (poison)
      // keeping a quarter of the way to its source class.
      for (let t = 0; t < k; t++) E[i * k + t] = centres[1]![t]! + (poison ? 0.25 * (centres[src]![t]! - centres[1]![t]!) : 0) + (t === k - 1 ? (poison ? 2 : 5) : 0) + gauss(r);
      if (!poison) for (let t = 0; t < d; t++) X[i * d + t] = 0.5 * X[i * d + t]! + 0.5 * X[((i + 2) % n) * d + t]!;
    }
    const reclassify = (rows: number[], label: number) => reclassifyCluster(X, n, d, y, rows, label);
    return { res: detectBackdoor(E, n, k, y, c, { reclassify }), sub };
  }

  it('finds a weakly separated trigger cluster (silhouette under the old 0.45 gate)', () => {
    const { res, sub } = weakSplit(true);
    const target = res.classes.find((x) => x.label === 1)!;
    expect(target.silhouette).toBeLessThan(0.35);
    expect(res.classes.filter((x) => x.suspicious).map((x) => x.label)).toEqual([1]);
    const hit = target.smallCluster.filter((i) => sub.has(i)).length;
    expect(hit / sub.size).toBeGreaterThanOrEqual(0.9);
    expect(target.smallCluster.length - hit).toBeLessThanOrEqual(6);
    expect(target.confidentLower!).toBeGreaterThan(0.6);
  });

  it('does not flag a clean class with an equally separated style cluster', () => {
    const { res } = weakSplit(false);
    const cls = res.classes.find((x) => x.label === 1)!;
    expect(cls.silhouette).toBeGreaterThan(0.25);
    expect(cls.smallCluster.length).toBeGreaterThan(50);
    // Half of its inputs vote for another class once the cluster is removed (the old majority
    // reclassification would have confirmed the split), but few do so confidently.
    expect(cls.foreignShare!).toBeGreaterThanOrEqual(0.5);
    expect(cls.confidentShare!).toBeLessThan(0.3);
    expect(res.classes.filter((x) => x.suspicious)).toEqual([]);
  });

  it('compares scalings on the rows outside the cluster and keeps those about as good as the best', () => {
    // Feature 0 is noise a thousand times larger than the class signal: unscaled, neighbours are
    // random, so only the standardised copy may be used.
    const { X, y, n, d } = blobs(5, 3, 200, 4, 4);
    const r = mulberry32(6);
    const S = Float64Array.from(X);
    const raw = Float64Array.from(X);
    for (let i = 0; i < n; i++) raw[i * d] = 1000 * gauss(r);
    const cluster = Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === 0).slice(0, 40);
    const both = reclassifyCluster([raw, S], n, d, y, cluster, 0);
    expect(both.scaling).toBe(1);
    expect(both.confidentShare).toBe(0);
    expect(both.sampled).toBe(40);
    // Relabelled rows of class 2 are confidently class 2 under the usable scaling.
    const y2 = Int32Array.from(y);
    const moved = Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === 2).slice(0, 40);
    for (const i of moved) y2[i] = 0;
    expect(reclassifyCluster([raw, S], n, d, y2, moved, 0).confidentShare).toBeGreaterThan(0.9);
  });
});

describe('wilsonLower', () => {
  it('is below the observed share and tightens with more trials', () => {
    expect(wilsonLower(0.8, 10)).toBeLessThan(0.8);
    expect(wilsonLower(0.8, 10)).toBeLessThan(wilsonLower(0.8, 200));
    expect(wilsonLower(0.8, 200)).toBeGreaterThan(0.74);
    expect(wilsonLower(0, 50)).toBe(0);
    expect(wilsonLower(0.5, 0)).toBe(0);
  });
});

describe('provenance', () => {
  it('scores the source with many flagged rows as suspicious', () => {
    const n = 1000;
    const sources = Array.from({ length: n }, (_, i) => `s${i % 5}`);
    const flagged = new Uint8Array(n);
    for (let i = 0; i < n; i++) flagged[i] = i % 5 === 3 ? (i % 3 === 0 ? 1 : 0) : i % 50 === 0 ? 1 : 0;
    const st = sourceStats(sources, flagged, undefined, 0);
    expect(st.filter((s) => s.suspicious).map((s) => s.source)).toEqual(['s3']);
  });
});

describe('column profile', () => {
  it('profiles, finds out-of-range rows and class balance shifts', () => {
    const v = Float64Array.from({ length: 101 }, (_, i) => i);
    const p = profileColumn(v);
    expect([p.min, p.max, p.quantiles[4]]).toEqual([0, 100, 50]);
    expect(outOfRange(Float64Array.from([5, 111, -11, 109, NaN]), p)).toEqual([{ row: 1, value: 111 }, { row: 2, value: -11 }]);
    expect(balanceShift({ a: 500, b: 500 }, { a: 510, b: 490 }).pValue).toBeGreaterThan(0.01);
    const s = balanceShift({ a: 500, b: 500 }, { a: 800, b: 200 });
    expect(s.pValue).toBeLessThan(1e-6);
    expect(s.maxAbsChange).toBeCloseTo(0.3);
  });
});
