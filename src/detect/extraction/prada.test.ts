// PRADA, coverage and JbDA on the real digits data and the demo classifier: benign query streams
// (shuffles with repeats) stay above δ, a Jacobian-augmentation attack falls below it; memory stays
// within its caps; the state survives encoding.
import { describe, expect, it } from 'vitest';
import { trainDigits } from '../../demo/classifier/server.js';
import { argmax, inputGradient, predictProba, seededRandom, shuffledIndices, trainClassifier, type Dataset } from '../../demo/classifier/model.js';
import { coverageCell, coverageGrid, coverageVisit } from './coverage.js';
import { runJbda } from './jbda.js';
import { DEFAULT_PRADA_OPTIONS, decodePradaState, encodePradaState, fingerprint, newPradaState, pradaObserve, reduceDimensions } from './prada.js';

const t = trainDigits();
const D = 64;
const row = (ds: Dataset, r: number) => ds.x.subarray(r * D, r * D + D);
const label = (x: ArrayLike<number>) => argmax(predictProba(t.model, x));

function benignStream(seed: number, n: number, repeat = 0.15): Float64Array[] {
  const rand = seededRandom(seed);
  const src = seed % 2 ? t.test : t.train;
  const order = shuffledIndices(src.n, rand);
  return Array.from({ length: n }, (_, k) => Float64Array.from(row(src, rand() < repeat ? order[Math.floor(rand() * (k + 1)) % src.n]! : order[k % src.n]!)));
}

describe('PRADA', () => {
  it('stays quiet on benign streams of real digits (shuffled, with repeats, replayed past the data set)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const s = newPradaState();
      let fired = 0;
      let tests = 0;
      for (const x of benignStream(seed, 800)) {
        // Every distance tested (testEvery 1): no test along the way may fire.
        const o = pradaObserve(s, x, label(x), { ...DEFAULT_PRADA_OPTIONS, testEvery: 1 }, seededRandom(seed));
        if (o.test) tests++;
        if (o.fired) fired++;
      }
      expect(tests).toBeGreaterThan(200);
      expect(fired).toBe(0);
    }
  });

  it('fires on a Jacobian-based augmentation attack within a few hundred queries', async () => {
    const seeds: Float64Array[] = [];
    const per = new Map<number, number>();
    for (let r = 0; seeds.length < 30; r++) {
      const c = t.test.y[r]!;
      if ((per.get(c) ?? 0) < 3) {
        per.set(c, (per.get(c) ?? 0) + 1);
        seeds.push(Float64Array.from(row(t.test, r)));
      }
    }
    const s = newPradaState();
    let firedAt = 0;
    let q = 0;
    await runJbda({
      seeds,
      rounds: 4,
      lambda: 1.6,
      tau: 3,
      clipMin: 0,
      clipMax: 16,
      oracle: async (batch) => {
        if (firedAt) return null;
        return batch.map((x) => {
          const l = label(x);
          q++;
          if (pradaObserve(s, x, l, DEFAULT_PRADA_OPTIONS).fired && !firedAt) firedAt = q;
          return l;
        });
      },
      train: (x, y) => {
        const ds: Dataset = { n: x.length, d: D, x: new Float64Array(x.length * D), y: Int32Array.from(y) };
        x.forEach((v, i) => ds.x.set(v, i * D));
        const m = trainClassifier(ds, 10, { inputScale: 1 / 16, epochs: 10, seed: 3 });
        return { lossGradient: (xx: Float64Array, l: number) => inputGradient(m, xx, l).gradient };
      },
    });
    expect(firedAt).toBeGreaterThan(DEFAULT_PRADA_OPTIONS.minDistances);
    expect(firedAt).toBeLessThan(400);
  });

  it('skips exact repeats and keeps memory within its caps', () => {
    const opts = { ...DEFAULT_PRADA_OPTIONS, maxPointsPerClass: 15, maxDistances: 60, minDistances: 50 };
    const s = newPradaState();
    const x = Float64Array.from(row(t.train, 0));
    pradaObserve(s, x, 1, opts);
    for (let i = 0; i < 5; i++) expect(pradaObserve(s, x, 1, opts).distance).toBeNull();
    const rand = seededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const v = Array.from({ length: D }, () => Math.floor(rand() * 17));
      pradaObserve(s, v, i % 3, opts, rand);
    }
    for (const c of Object.values(s.classes)) expect(c.points.length).toBeLessThanOrEqual(15);
    expect(s.distances.length).toBeLessThanOrEqual(60);
    expect(s.recent.length).toBeLessThanOrEqual(opts.maxRecent);
    expect(s.queries).toBe(2006);
  });

  it('round-trips its state through encoding and refuses damaged text', () => {
    const s = newPradaState();
    for (const x of benignStream(7, 150)) pradaObserve(s, x, label(x), DEFAULT_PRADA_OPTIONS);
    const back = decodePradaState(encodePradaState(s))!;
    expect(back.queries).toBe(s.queries);
    expect(back.distances).toEqual(s.distances.map(Math.fround));
    expect(back.recent).toEqual(s.recent);
    expect(Object.keys(back.classes).sort()).toEqual(Object.keys(s.classes).sort());
    // Digits are small integers: exact in float32, so the next observation agrees.
    const x = Float64Array.from(row(t.test, 3));
    expect(pradaObserve(back, x, 4, DEFAULT_PRADA_OPTIONS).distance).toBeCloseTo(pradaObserve(s, x, 4, DEFAULT_PRADA_OPTIONS).distance!, 4);
    for (const bad of ['', '{}', 'null', '{"v":1,"dims":64,"n":1,"d":"AAA","r":"","c":{}}', encodePradaState(s).replace('"dims":64', '"dims":63')]) {
      expect(decodePradaState(bad)).toBeNull();
    }
  });

  it('reduces long inputs by feature hashing, roughly preserving distances', () => {
    const rand = seededRandom(4);
    const a = Array.from({ length: 5000 }, () => rand());
    const b = a.map((v) => v + (rand() - 0.5));
    const d = (u: number[], v: number[]) => Math.sqrt(u.reduce((s, x, i) => s + (x - v[i]!) ** 2, 0));
    const ra = reduceDimensions(a, 512);
    expect(ra).toHaveLength(512);
    expect(d(reduceDimensions(a, 512), reduceDimensions(b, 512)) / d(a, b)).toBeGreaterThan(0.8);
    expect(d(reduceDimensions(a, 512), reduceDimensions(b, 512)) / d(a, b)).toBeLessThan(1.2);
    expect(fingerprint([1, 2, 3])).toBe(fingerprint(Float32Array.from([1, 2, 3])));
    expect(fingerprint([1, 2, 3])).not.toBe(fingerprint([1, 2, 4]));
  });
});

describe('input-space coverage', () => {
  it('random probing explores far more cells than real digits', () => {
    const centre = new Array<number>(D).fill(0);
    for (let r = 0; r < t.train.n; r++) for (let i = 0; i < D; i++) centre[i]! += t.train.x[r * D + i]! / t.train.n;
    const grid = coverageGrid(D, 12, 1, centre);
    const benign = { cells: [] as number[] };
    for (const x of benignStream(3, 1000)) coverageVisit(benign, coverageCell(grid, x), 5000);
    const rand = seededRandom(5);
    const probe = { cells: [] as number[] };
    for (let i = 0; i < 1000; i++) coverageVisit(probe, coverageCell(grid, Array.from({ length: D }, () => rand() * 16)), 5000);
    expect(probe.cells.length).toBeGreaterThan(benign.cells.length * 1.3);
    expect(coverageCell(grid, [1, 2])).toBe(-1);
    // Default centring (each input's own mean), no knowledge of the data: the whole digits data set
    // occupies a few hundred of the 4096 cells, random probes cover more in 1,000 queries.
    const rowMean = coverageGrid(D, 12, 1, 'row-mean');
    const everyDigit = { cells: [] as number[] };
    for (const ds of [t.train, t.test]) for (let r = 0; r < ds.n; r++) coverageVisit(everyDigit, coverageCell(rowMean, row(ds, r)), 5000);
    const probes = { cells: [] as number[] };
    const rand2 = seededRandom(6);
    for (let i = 0; i < 1000; i++) coverageVisit(probes, coverageCell(rowMean, Array.from({ length: D }, () => Math.round(rand2() * 16))), 5000);
    expect(everyDigit.cells.length).toBeLessThan(600);
    expect(probes.cells.length).toBeGreaterThan(everyDigit.cells.length * 1.5);
    const capped = { cells: [] as number[] };
    for (let c = 0; c < 100; c++) coverageVisit(capped, c, 10);
    expect(capped.cells).toHaveLength(10);
  });
});
