// Request-volume and exfiltration-volume anomalies: per principal, the sum of a quantity over each
// evaluation window (requests; response bytes) against the principal's own hour-of-week baseline.
// A principal still learning (younger than `learnWindows`) is judged by an absolute cold-start
// ceiling instead, so even the first hour of a brand-new key is watched.
import { z } from 'zod';
import { DEFAULT_SEASONAL, SeasonalBaseline, isSpike } from '../../detect/seasonal.js';
import type { RampartEvent } from '../../events/schema.js';
import { num, WindowClock, type Detection, type Detector } from './types.js';

export const volumeParamsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Evaluation window (ms). */
    windowMs: z.number().int().positive().default(300_000),
    /** Standard deviations above the seasonal expectation. */
    k: z.number().positive().default(6),
    /** And at least this multiple of the expectation. */
    ratio: z.number().positive().default(4),
    /** Windows of history before the learned baseline is used (default one day of 5-minute windows). */
    learnWindows: z.number().int().nonnegative().default(288),
    /** Principals idle longer than this (ms) are forgotten. */
    forgetAfterMs: z.number().int().positive().default(14 * 86_400_000),
  })
  .strict();

export const requestVolumeSchema = volumeParamsSchema.extend({
  /** Smallest request count per window that can be an anomaly. */
  minValue: z.number().nonnegative().default(30),
  /** Cold-start ceiling: requests per window from a principal still learning. */
  coldStartMax: z.number().positive().default(600),
});
export const exfiltrationSchema = volumeParamsSchema.extend({
  /** Smallest response volume per window (bytes) that can be an anomaly. */
  minValue: z.number().nonnegative().default(1_048_576),
  /** Cold-start ceiling: response bytes per window from a principal still learning. */
  coldStartMax: z.number().positive().default(104_857_600),
});
export type VolumeParams = z.output<typeof requestVolumeSchema>;

interface KeyState {
  baseline: SeasonalBaseline;
  sum: number;
  lastSeen: number;
  windows: number;
}

export class VolumeDetector implements Detector {
  private readonly clock: WindowClock;
  private readonly keys = new Map<string, KeyState>();

  constructor(
    readonly id: 'request-volume' | 'exfiltration',
    private readonly p: VolumeParams,
  ) {
    this.clock = new WindowClock(p.windowMs);
  }

  private value(e: RampartEvent): number {
    return this.id === 'request-volume' ? 1 : num(e.data.bytesOut);
  }

  observe(e: RampartEvent): Detection[] {
    const out = this.tick(e.time);
    if (e.type !== 'gateway.request' || !e.principal) return out;
    let s = this.keys.get(e.principal);
    if (!s) this.keys.set(e.principal, (s = { baseline: new SeasonalBaseline(DEFAULT_SEASONAL), sum: 0, lastSeen: e.time, windows: 0 }));
    s.sum += this.value(e);
    s.lastSeen = e.time;
    return out;
  }

  tick(now: number): Detection[] {
    const out: Detection[] = [];
    for (const start of this.clock.advance(now)) {
      for (const [principal, s] of this.keys) {
        if (start - s.lastSeen > this.p.forgetAfterMs) {
          this.keys.delete(principal);
          continue;
        }
        const x = s.sum;
        s.sum = 0;
        let clip = x;
        if (s.windows < this.p.learnWindows) {
          if (x >= this.p.coldStartMax) out.push(this.detection(principal, start, x, this.p.coldStartMax, 'cold-start', 0));
          clip = Math.min(x, this.p.coldStartMax);
        } else {
          const exp = s.baseline.expected(start);
          const { spike, threshold, learnCap } = isSpike(x, exp, this.p);
          if (spike) out.push(this.detection(principal, start, x, threshold, exp.level, exp.mean));
          // Clip what is learned so an ongoing attack does not become the new normal.
          clip = Math.min(x, learnCap);
        }
        s.baseline.update(start, clip);
        s.windows++;
      }
    }
    return out;
  }

  private detection(principal: string, start: number, value: number, threshold: number, level: string, expected: number): Detection {
    const vol = this.id === 'request-volume';
    const ratio = threshold > 0 ? value / threshold : 0;
    return {
      detector: this.id,
      dedupKey: `${this.id}:${principal}`,
      severity: ratio >= 4 ? 'critical' : 'high',
      title: vol
        ? `Request volume of ${principal}: ${value} requests in ${this.p.windowMs / 60_000} min (expected ~${Math.round(expected)})`
        : `Response volume of ${principal}: ${Math.round(value / 1024)} KiB in ${this.p.windowMs / 60_000} min (expected ~${Math.round(expected / 1024)} KiB)`,
      time: start + this.p.windowMs,
      subject: { principal },
      details: { windowStart: start, windowMs: this.p.windowMs, value, expected, threshold, baseline: level },
    };
  }
}
