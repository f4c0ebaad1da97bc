// Unit tests of the pure algorithms on seeded synthetic data, with known reference values.
import { describe, expect, it } from 'vitest';
import { mulberry32, normal, poisson } from './random.js';
import { DEFAULT_SEASONAL, SeasonalBaseline, isSpike } from './seasonal.js';
import { SlidingCounter, networkPrefix } from './sliding.js';
import { Ewma, chiSquare, gammaQ, histogram, jensenShannon, ksTwoSample, psi, wasserstein1 } from './stats.js';

const HOUR = 3_600_000;

describe('statistics', () => {
  it('EWMA converges to the mean and spread of a stationary series', () => {
    const r = mulberry32(1);
    const e = new Ewma(0.02);
    for (let i = 0; i < 5000; i++) e.update(50 + 5 * normal(r));
    expect(e.mean).toBeGreaterThan(48);
    expect(e.mean).toBeLessThan(52);
    expect(e.sd).toBeGreaterThan(3.5);
    expect(e.sd).toBeLessThan(6.5);
  });

  it('PSI and Jensen–Shannon are ~0 for the same distribution and large for a shifted one', () => {
    expect(psi([100, 200, 300], [100, 200, 300])).toBeCloseTo(0, 6);
    expect(jensenShannon([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 9);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 9);
    expect(psi([500, 300, 200], [200, 300, 500])).toBeGreaterThan(0.25);
  });

  it('chi-square p-values match tables (df 1: stat 3.841 → 0.05; df 4: stat 13.277 → 0.01)', () => {
    expect(gammaQ(0.5, 3.841 / 2)).toBeCloseTo(0.05, 3);
    expect(gammaQ(2, 13.277 / 2)).toBeCloseTo(0.01, 3);
    const same = chiSquare([250, 250, 500], [240, 260, 500]);
    expect(same.pValue).toBeGreaterThan(0.5);
    const diff = chiSquare([250, 250, 500], [500, 250, 250]);
    expect(diff.pValue).toBeLessThan(1e-10);
    expect(diff.df).toBe(2);
  });

  it('KS and Wasserstein separate shifted normals and not same-distribution samples (seeded)', () => {
    const r = mulberry32(7);
    const a = Array.from({ length: 1000 }, () => normal(r));
    const b = Array.from({ length: 1000 }, () => normal(r));
    const c = Array.from({ length: 1000 }, () => normal(r) + 0.5);
    expect(ksTwoSample(a, b).pValue).toBeGreaterThan(0.01);
    expect(ksTwoSample(a, c).pValue).toBeLessThan(1e-10);
    expect(ksTwoSample(a, c).statistic).toBeGreaterThan(0.15);
    expect(wasserstein1(a, b)).toBeLessThan(0.15);
    expect(wasserstein1(a, c)).toBeGreaterThan(0.35);
    expect(wasserstein1([0, 0], [1, 1])).toBeCloseTo(1, 9);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic).toBe(0);
  });

  it('histogram clamps outliers into the edge bins', () => {
    expect(histogram([-5, 0.05, 0.55, 0.99, 7], 2, 0, 1)).toEqual([2, 3]);
  });
});

describe('seasonal baseline', () => {
  it('learns a daily rhythm: quiet night, busy day; a 10× spike stands out, normal peaks do not', () => {
    const r = mulberry32(3);
    const b = new SeasonalBaseline(DEFAULT_SEASONAL);
    const rate = (t: number) => (new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 40 : 4);
    const W = 5 * 60_000;
    let falses = 0;
    for (let t = 0; t < 7 * 24 * HOUR; t += W) {
      const x = poisson(r, rate(t));
      const e = b.expected(t);
      if (b.samples > 288 && isSpike(x, e, { k: 6, ratio: 3, minValue: 20 }).spike) falses++;
      b.update(t, x);
    }
    expect(falses).toBe(0);
    const noon = 7 * 24 * HOUR + 12 * HOUR;
    const night = 7 * 24 * HOUR + 3 * HOUR;
    expect(b.expected(noon).level).toBe('hour-of-week');
    expect(b.expected(noon).mean).toBeGreaterThan(30);
    expect(b.expected(night).mean).toBeLessThan(8);
    expect(isSpike(400, b.expected(noon), { k: 6, ratio: 3, minValue: 20 }).spike).toBe(true);
    // A daytime volume at 3 a.m. is a spike for that hour even though it is normal at noon.
    expect(isSpike(40, b.expected(night), { k: 6, ratio: 3, minValue: 20 }).spike).toBe(true);
    expect(isSpike(55, b.expected(noon), { k: 6, ratio: 3, minValue: 20 }).spike).toBe(false);
  });
});

describe('sliding counter and prefixes', () => {
  it('counts within the window and forgets older buckets', () => {
    const c = new SlidingCounter(60_000, 12);
    for (let i = 0; i < 10; i++) c.add(1_000 + i * 1000);
    expect(c.total(11_000)).toBe(10);
    expect(c.add(62_000)).toBe(7);
    expect(c.total(200_000)).toBe(0);
    expect(c.idle(200_000)).toBe(true);
  });

  it('derives /24 and /48 prefixes', () => {
    expect(networkPrefix('10.1.2.3')).toBe('10.1.2.0/24');
    expect(networkPrefix('::ffff:192.168.7.9', 16)).toBe('192.168.0.0/16');
    expect(networkPrefix('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkPrefix('::1')).toBe('0:0:0::/48');
    expect(networkPrefix('garbage')).toBe('garbage/unknown');
  });
});
