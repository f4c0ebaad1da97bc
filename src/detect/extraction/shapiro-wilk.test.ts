// Shapiro–Wilk and the normal distribution against reference values computed independently with
// scipy 1.17.1 (scipy.stats.shapiro, scipy.stats.norm) on the same inputs, which the test builds
// with exact integer arithmetic (a linear congruential generator) so both sides see identical data.
import { describe, expect, it } from 'vitest';
import { normalCdf, normalQuantile, normalUpperTail } from './normal.js';
import { shapiroWilk } from './shapiro-wilk.js';

function lcg(seed: number, n: number): number[] {
  const out: number[] = [];
  let s = BigInt(seed);
  for (let i = 0; i < n; i++) {
    s = (1103515245n * s + 12345n) % 2147483648n;
    out.push(Number(s) / 2147483648);
  }
  return out;
}
/** Irwin–Hall: the sum of 12 uniforms minus 6, close to a standard normal. */
function irwin(seed: number, n: number): number[] {
  const u = lcg(seed, 12 * n);
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < 12; k++) s += u[12 * i + k]!;
    return s - 6;
  });
}

// [name, data, W from scipy, p from scipy]
const CASES: [string, number[], number, number][] = [
  ['n = 3 (exact p)', [1, 2, 4], 0.9642857142857142, 0.6368868450289689],
  ['n = 5', [3.1, 1.2, 5.5, 2.2, 4.0], 0.9908479811725273, 0.9825784259992958],
  // Shapiro & Wilk (1965), weights of 11 men: the paper's own example.
  ['n = 11, Shapiro & Wilk 1965', [148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236], 0.7888146948631716, 0.006703814061898823],
  ['n = 20, squares (skewed)', Array.from({ length: 20 }, (_, i) => (i + 1) ** 2), 0.9061306286053874, 0.053809589128654696],
  ['n = 50, uniform', lcg(7, 50), 0.9479538028484711, 0.02812959132529242],
  ['n = 200, near-normal', irwin(11, 200), 0.9910593741802116, 0.25374781207186303],
  ['n = 1000, exponential', lcg(3, 1000).map((u) => -Math.log(1 - u)), 0.7953203964562419, 1.1402595873038191e-33],
  ['n = 5000, near-normal', irwin(5, 5000), 0.99940893410766, 0.10828536660140986],
];

describe('Shapiro–Wilk (Royston 1992/1995)', () => {
  for (const [name, data, w, p] of CASES) {
    it(`matches scipy: ${name}`, () => {
      const r = shapiroWilk(data);
      expect(r.n).toBe(data.length);
      expect(r.w).toBeCloseTo(w, 6);
      // p-values: relative agreement (they span 30 orders of magnitude).
      expect(Math.abs(r.p - p) / p).toBeLessThan(1e-4);
    });
  }

  it('does not depend on order, location or scale', () => {
    const x = irwin(21, 120);
    const a = shapiroWilk(x);
    const b = shapiroWilk(x.map((v) => 1000 + 3.5 * v).reverse());
    expect(b.w).toBeCloseTo(a.w, 10);
    expect(b.p).toBeCloseTo(a.p, 8);
  });

  it('separates normal from clearly non-normal samples', () => {
    expect(shapiroWilk(irwin(4, 400)).p).toBeGreaterThan(0.01);
    const bimodal = lcg(9, 400).map((u, i) => (i % 2 ? 10 : 0) + u);
    expect(shapiroWilk(bimodal).w).toBeLessThan(0.8);
  });

  it('handles constant samples and refuses bad sizes and values', () => {
    expect(shapiroWilk([2, 2, 2, 2])).toEqual({ w: 1, p: 1, n: 4 });
    expect(() => shapiroWilk([1, 2])).toThrow(RangeError);
    expect(() => shapiroWilk(new Array<number>(5001).fill(0).map((_, i) => i))).toThrow(RangeError);
    expect(() => shapiroWilk([1, 2, Number.NaN])).toThrow(RangeError);
  });
});

describe('normal distribution', () => {
  it('quantiles match scipy.stats.norm.ppf', () => {
    const ref: [number, number][] = [
      [1e-10, -6.361340902404056],
      [0.001, -3.090232306167813],
      [0.025, -1.9599639845400545],
      [0.3, -0.5244005127080409],
      [0.5, 0],
      [0.9, 1.2815515655446004],
    ];
    for (const [p, z] of ref) expect(normalQuantile(p)).toBeCloseTo(z, 11);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });

  it('upper tails match scipy.stats.norm.sf, far into the tail', () => {
    const ref: [number, number][] = [
      [-3, 0.9986501019683699],
      [0, 0.5],
      [1.5, 0.06680720126885807],
      [2.5, 0.006209665325776132],
      [6, 9.865876450376946e-10],
      [10, 7.61985302416047e-24],
    ];
    for (const [z, p] of ref) expect(Math.abs(normalUpperTail(z) - p) / p).toBeLessThan(1e-10);
    expect(normalCdf(1.5) + normalUpperTail(1.5)).toBeCloseTo(1, 14);
  });
});
