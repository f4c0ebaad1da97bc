// A per-key baseline of a windowed quantity (requests, bytes, ...) that knows the weekly rhythm:
// an EWMA per hour-of-week slot, falling back to an EWMA per hour-of-day slot and then to an
// overall EWMA while the finer slots have too few samples. Scores say how far a new window's value
// lies above what is expected for that time of the week.
import { Ewma } from './stats.js';

export interface SeasonalParams {
  /** EWMA weight of a new sample in an hour-of-week / hour-of-day slot. Default 0.3. */
  slotAlpha: number;
  /** EWMA weight of a new sample in the overall baseline. Default 0.05. */
  overallAlpha: number;
  /** Samples a slot needs before it is trusted. Default 4. */
  minSlotSamples: number;
  /** UTC offset in minutes of the local time used for the hour slots. Default 0. */
  utcOffsetMinutes: number;
}

export const DEFAULT_SEASONAL: SeasonalParams = { slotAlpha: 0.3, overallAlpha: 0.05, minSlotSamples: 4, utcOffsetMinutes: 0 };

export interface Expectation {
  mean: number;
  sd: number;
  /** Which level supplied it. */
  level: 'hour-of-week' | 'hour-of-day' | 'overall' | 'none';
  samples: number;
}

export function hourOfWeek(time: number, utcOffsetMinutes = 0): number {
  const d = new Date(time + utcOffsetMinutes * 60_000);
  return d.getUTCDay() * 24 + d.getUTCHours();
}

export class SeasonalBaseline {
  private readonly week = new Map<number, Ewma>();
  private readonly day = new Map<number, Ewma>();
  readonly overall: Ewma;

  constructor(readonly p: SeasonalParams = DEFAULT_SEASONAL) {
    this.overall = new Ewma(p.overallAlpha);
  }

  get samples(): number {
    return this.overall.n;
  }

  expected(time: number): Expectation {
    const how = hourOfWeek(time, this.p.utcOffsetMinutes);
    const w = this.week.get(how);
    if (w && w.n >= this.p.minSlotSamples) return { mean: w.mean, sd: w.sd, level: 'hour-of-week', samples: w.n };
    const d = this.day.get(how % 24);
    if (d && d.n >= this.p.minSlotSamples) return { mean: d.mean, sd: d.sd, level: 'hour-of-day', samples: d.n };
    if (this.overall.n > 0) return { mean: this.overall.mean, sd: this.overall.sd, level: 'overall', samples: this.overall.n };
    return { mean: 0, sd: 0, level: 'none', samples: 0 };
  }

  update(time: number, value: number): void {
    const how = hourOfWeek(time, this.p.utcOffsetMinutes);
    let w = this.week.get(how);
    if (!w) this.week.set(how, (w = new Ewma(this.p.slotAlpha)));
    let d = this.day.get(how % 24);
    if (!d) this.day.set(how % 24, (d = new Ewma(this.p.slotAlpha)));
    w.update(value);
    d.update(value);
    this.overall.update(value);
  }
}

export interface SpikeParams {
  /** Standard deviations above the expectation. Default 6. */
  k: number;
  /** And at least this multiple of the expected value. Default 3. */
  ratio: number;
  /** And at least this absolute value (tiny counts are never anomalies). */
  minValue: number;
}

/**
 * Whether `value` is a spike against `exp`. The spread gets a Poisson-like floor (sqrt of the
 * mean, plus 1) so a key whose history is perfectly flat does not alert on +1.
 */
export function isSpike(value: number, exp: Expectation, p: SpikeParams): { spike: boolean; threshold: number; learnCap: number } {
  const spread = Math.max(exp.sd, Math.sqrt(Math.max(exp.mean, 0)) + 1);
  const statistical = Math.max(exp.mean + p.k * spread, exp.mean * p.ratio);
  const threshold = Math.max(p.minValue, statistical);
  // What a baseline may learn from this value: never more than the statistical threshold, even
  // when `minValue` kept it from alerting, so the first window of an attack is not learned.
  return { spike: value >= threshold, threshold, learnCap: statistical };
}
