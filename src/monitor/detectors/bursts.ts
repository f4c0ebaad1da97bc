// Bursts of refusals: authentication failures (credential stuffing) and authorization denials
// (privilege probing), counted per source address and per principal over a sliding window.
// Fires when a key crosses the threshold and re-arms once its count has fallen below half of it.
import { z } from 'zod';
import { SlidingCounter } from '../../detect/sliding.js';
import type { RampartEvent } from '../../events/schema.js';
import type { Detection, Detector } from './types.js';

export const burstSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Sliding window (ms). */
    windowMs: z.number().int().positive().default(60_000),
    /** Refusals in the window that make a burst. */
    threshold: z.number().int().positive(),
  })
  .strict();
export const authBurstSchema = burstSchema.extend({ threshold: z.number().int().positive().default(20) });
export const denyBurstSchema = burstSchema.extend({ threshold: z.number().int().positive().default(10) });
export type BurstParams = z.output<typeof burstSchema>;

interface KeyState {
  counter: SlidingCounter;
  armed: boolean;
}

export class BurstDetector implements Detector {
  private readonly keys = new Map<string, KeyState>();
  private lastSweep = 0;

  constructor(
    readonly id: 'auth-failure-burst' | 'authz-deny-burst',
    private readonly p: BurstParams,
  ) {}

  observe(e: RampartEvent): Detection[] {
    const want = this.id === 'auth-failure-burst' ? 'auth.failure' : 'authz.deny';
    this.tick(e.time);
    if (e.type !== want) return [];
    const out: Detection[] = [];
    const subjects: [string, string][] = [];
    if (e.sourceIp) subjects.push(['sourceIp', e.sourceIp]);
    if (e.principal) subjects.push(['principal', e.principal]);
    for (const [field, value] of subjects) {
      const k = `${field}=${value}`;
      let s = this.keys.get(k);
      if (!s) this.keys.set(k, (s = { counter: new SlidingCounter(this.p.windowMs), armed: true }));
      const n = s.counter.add(e.time);
      if (s.armed && n >= this.p.threshold) {
        s.armed = false;
        out.push({
          detector: this.id,
          dedupKey: `${this.id}:${k}`,
          severity: 'high',
          title:
            this.id === 'auth-failure-burst'
              ? `Burst of authentication failures from ${field} ${value}: ${n} in ${this.p.windowMs / 1000} s`
              : `Burst of authorization denials for ${field} ${value}: ${n} in ${this.p.windowMs / 1000} s`,
          time: e.time,
          subject: { [field]: value },
          details: { count: n, windowMs: this.p.windowMs, threshold: this.p.threshold },
        });
      } else if (!s.armed && n < this.p.threshold / 2) {
        s.armed = true;
      }
    }
    return out;
  }

  tick(now: number): Detection[] {
    // Drop idle keys now and then so memory follows the active population.
    if (now - this.lastSweep > this.p.windowMs * 10) {
      this.lastSweep = now;
      for (const [k, s] of this.keys) if (s.counter.idle(now)) this.keys.delete(k);
    }
    return [];
  }
}
