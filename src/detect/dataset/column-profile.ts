// Column profiles for a trusted baseline and the checks against it: range, quantiles, missing
// share, and class balance. A value is out of range when it lies beyond the baseline's [min, max]
// widened by `rangeMargin` of the span. Class balance shift: a chi-square goodness-of-fit of the
// new label counts against the baseline shares, plus the largest absolute change in share.
import { finite, normalSf } from './stats.js';

export const QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1] as const;

export interface NumericProfile {
  count: number;
  missing: number;
  min: number;
  max: number;
  mean: number;
  quantiles: number[];
}

export function profileColumn(values: Float64Array): NumericProfile {
  const f = finite(values).sort();
  const count = f.length;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += f[i]!;
  const q = (p: number) => (count === 0 ? NaN : f[Math.min(count - 1, Math.floor(p * (count - 1) + 0.5))]!);
  return {
    count,
    missing: values.length - count,
    min: count ? f[0]! : NaN,
    max: count ? f[count - 1]! : NaN,
    mean: count ? sum / count : NaN,
    quantiles: QUANTILES.map(q),
  };
}

/** Rows whose value lies outside the widened range, with the value. */
export function outOfRange(values: Float64Array, p: Pick<NumericProfile, 'min' | 'max'>, rangeMargin = 0.1): { row: number; value: number }[] {
  if (!Number.isFinite(p.min) || !Number.isFinite(p.max)) return [];
  const span = p.max - p.min;
  const lo = p.min - rangeMargin * span;
  const hi = p.max + rangeMargin * span;
  const out: { row: number; value: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    if (v < lo || v > hi) out.push({ row: i, value: v });
  }
  return out;
}

export interface BalanceShift {
  /** Chi-square statistic and its approximate upper-tail p-value. */
  chi2: number;
  dof: number;
  pValue: number;
  /** Per class: baseline share, new share. */
  classes: { label: string; baseline: number; current: number }[];
  maxAbsChange: number;
}

export function balanceShift(baseline: Record<string, number>, current: Record<string, number>): BalanceShift {
  const labels = [...new Set([...Object.keys(baseline), ...Object.keys(current)])].sort();
  const nb = Object.values(baseline).reduce((a, b) => a + b, 0);
  const nc = Object.values(current).reduce((a, b) => a + b, 0);
  let chi2 = 0;
  let maxAbsChange = 0;
  const classes = labels.map((label) => {
    const pb = nb ? (baseline[label] ?? 0) / nb : 0;
    const pc = nc ? (current[label] ?? 0) / nc : 0;
    // A class absent from the baseline gets a small floor so it counts without dividing by zero.
    const expected = Math.max(pb, 0.5 / Math.max(nb, 1)) * nc;
    chi2 += ((current[label] ?? 0) - expected) ** 2 / expected;
    maxAbsChange = Math.max(maxAbsChange, Math.abs(pc - pb));
    return { label, baseline: pb, current: pc };
  });
  const dof = Math.max(1, labels.length - 1);
  // Wilson–Hilferty normal approximation of the chi-square tail.
  const z = (Math.cbrt(chi2 / dof) - (1 - 2 / (9 * dof))) / Math.sqrt(2 / (9 * dof));
  return { chi2, dof, pValue: normalSf(z), classes, maxAbsChange };
}
