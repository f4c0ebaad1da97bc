import { describe, expect, it } from 'vitest';
import { mulberry32, normal } from '../random.js';
import { fitLedoitWolf, fitRobust, invertSpd, l1, looksLikeProbabilities, mahalanobis, medianFilter, quantile, reduceBitDepth, robustZScore, upperTailP } from './index.js';

describe('ood algorithms', () => {
  it('quantiles interpolate like NumPy (type 7) and the tail p-value is never 0', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5, 1, 3], 1)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
    expect(upperTailP([1, 2, 3], 10)).toBeCloseTo(1 / 4);
    expect(upperTailP([1, 2, 3], 0)).toBe(1);
  });

  it('inverts an SPD matrix and Mahalanobis reduces to Euclidean for identity covariance', () => {
    const m = [4, 2, 2, 3];
    const inv = invertSpd(m, 2);
    expect(4 * inv[0]! + 2 * inv[2]!).toBeCloseTo(1);
    expect(2 * inv[0]! + 3 * inv[2]!).toBeCloseTo(0);
    expect(mahalanobis({ mean: [0, 0], precision: [1, 0, 0, 1] }, [3, 4])).toBeCloseTo(5);
    expect(() => invertSpd([1, 2, 2, 1], 2)).toThrow(RangeError);
  });

  it('Ledoit-Wolf shrinks more with fewer rows and stays invertible with constant features', () => {
    const rand = mulberry32(3);
    const gen = (n: number) => Float64Array.from({ length: n * 10 }, (_, i) => (i % 10 === 9 ? 0 : normal(rand)));
    const few = fitLedoitWolf(gen(12), 12, 10);
    const many = fitLedoitWolf(gen(2000), 2000, 10);
    expect(few.shrinkage).toBeGreaterThan(many.shrinkage);
    expect(Number.isFinite(mahalanobis(many, new Array(10).fill(1)))).toBe(true);
    // A step along the feature that never varied is far (its variance is only the shrinkage's).
    expect(mahalanobis(many, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBeLessThan(0.5);
    expect(mahalanobis(many, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).toBeGreaterThan(4);
  });

  it('robust z uses the MAD, and the mean absolute deviation when the MAD is 0', () => {
    const x = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 8]); // one feature, mostly 0
    const s = fitRobust(x, 10, 1);
    expect(s.median[0]).toBe(0);
    expect(s.scale[0]).toBeCloseTo(1.2533 * 0.8);
    expect(robustZScore(s, [0])).toBe(0);
    expect(robustZScore(s, [1e9], 50)).toBe(50);
  });

  it('squeezers: bit depth over a feature range, median filter with repeated edges, L1, probability test', () => {
    expect(Array.from(reduceBitDepth([0, 7, 9, 16, 20], 1, { min: [0, 0, 0, 0, 0], max: [16, 16, 16, 16, 16] }))).toEqual([0, 0, 16, 16, 16]);
    expect(Array.from(reduceBitDepth([3], 2, { min: [2], max: [2] }))).toEqual([2]);
    const img = [0, 0, 0, 0, 9, 0, 0, 0, 0];
    expect(Array.from(medianFilter(img, 3, 3, 3))).toEqual(new Array(9).fill(0));
    expect(l1([0.5, 0.5], [1, 0])).toBe(1);
    expect(looksLikeProbabilities([0.2, 0.8, 0.5, 0.5], 2)).toBe(true);
    expect(looksLikeProbabilities([2.3, -1, 0.5, 0.5], 2)).toBe(false);
  });
});
