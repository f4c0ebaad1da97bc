// Upstream health per model: the error rate (5xx answers) and the mean upstream latency of each
// evaluation window against EWMA baselines of the same model.
import { z } from 'zod';
import { Ewma } from '../../detect/stats.js';
import type { RampartEvent } from '../../events/schema.js';
import { num, WindowClock, type Detection, type Detector } from './types.js';

export const upstreamSchema = z
  .object({
    enabled: z.boolean().default(true),
    windowMs: z.number().int().positive().default(300_000),
    /** Requests a window needs before it is judged. */
    minRequests: z.number().int().positive().default(10),
    /** Error rate that is always an anomaly once above the baseline band. */
    minErrorRate: z.number().min(0).max(1).default(0.2),
    /** Latency multiple of the baseline mean that is an anomaly. */
    latencyRatio: z.number().positive().default(3),
    /** And at least this many milliseconds. */
    minLatencyMs: z.number().nonnegative().default(250),
    /** Standard deviations above the baseline. */
    k: z.number().positive().default(6),
    /** Windows (with at least 3 successful requests) before the latency baseline is used. */
    learnWindows: z.number().int().nonnegative().default(12),
  })
  .strict();
type UpstreamParams = z.output<typeof upstreamSchema>;

interface KeyState {
  total: number;
  errors: number;
  latencySum: number;
  latencyN: number;
  errStat: Ewma;
  latStat: Ewma;
}

export class UpstreamDetector implements Detector {
  readonly id = 'upstream-health';
  private readonly clock: WindowClock;
  private readonly keys = new Map<string, KeyState>();
  constructor(private readonly p: UpstreamParams) {
    this.clock = new WindowClock(p.windowMs);
  }

  observe(e: RampartEvent): Detection[] {
    const out = this.tick(e.time);
    if (e.type !== 'gateway.request' || !e.model || e.data.decision === 'deny') return out;
    let s = this.keys.get(e.model);
    if (!s) this.keys.set(e.model, (s = { total: 0, errors: 0, latencySum: 0, latencyN: 0, errStat: new Ewma(0.1), latStat: new Ewma(0.1) }));
    s.total++;
    const status = num(e.data.status);
    if (status >= 500) s.errors++;
    else if (typeof e.data.upstreamMs === 'number') {
      s.latencySum += e.data.upstreamMs;
      s.latencyN++;
    }
    return out;
  }

  tick(now: number): Detection[] {
    const out: Detection[] = [];
    for (const start of this.clock.advance(now)) {
      for (const [model, s] of this.keys) {
        if (s.total >= this.p.minRequests) {
          const rate = s.errors / s.total;
          const band = Math.max(this.p.minErrorRate, s.errStat.mean + this.p.k * s.errStat.sd, s.errStat.mean * 3);
          if (rate >= band) out.push(this.det(model, 'errors', start, { errorRate: rate, errors: s.errors, requests: s.total, threshold: band }));
          s.errStat.update(Math.min(rate, band));
        }
        // Latency: the baseline is an EWMA of window means; quiet windows (3+ requests) teach it
        // too, anomalous ones do not (so a slow upstream never becomes the norm).
        if (s.latencyN >= 3) {
          const mean = s.latencySum / s.latencyN;
          const lim = Math.max(this.p.minLatencyMs, s.latStat.mean * this.p.latencyRatio, s.latStat.mean + this.p.k * s.latStat.sd);
          const learned = s.latStat.n >= this.p.learnWindows;
          if (learned && mean >= lim) {
            if (s.latencyN >= this.p.minRequests) out.push(this.det(model, 'latency', start, { meanLatencyMs: mean, baselineMs: s.latStat.mean, threshold: lim }));
          } else s.latStat.update(mean);
        }
        s.total = s.errors = s.latencySum = s.latencyN = 0;
      }
    }
    return out;
  }

  private det(model: string, kind: 'errors' | 'latency', start: number, details: Record<string, number>): Detection {
    return {
      detector: this.id,
      dedupKey: `${this.id}:${kind}:${model}`,
      severity: kind === 'errors' ? 'high' : 'medium',
      title:
        kind === 'errors'
          ? `Upstream of ${model} failing: ${(details.errorRate! * 100).toFixed(1)}% errors in ${this.p.windowMs / 60_000} min`
          : `Upstream of ${model} slow: mean ${Math.round(details.meanLatencyMs!)} ms (baseline ${Math.round(details.baselineMs!)} ms)`,
      time: start + this.p.windowMs,
      subject: { model },
      details: { kind, windowStart: start, ...details },
    };
  }
}
