// Enumeration: one principal touching unusually many distinct models/endpoints within a window,
// against its own history (the largest distinct count it normally reaches), with an absolute
// threshold while it is new. Fires as soon as the count crosses the threshold.
import { z } from 'zod';
import { Ewma } from '../../detect/stats.js';
import type { RampartEvent } from '../../events/schema.js';
import { WindowClock, type Detection, type Detector } from './types.js';

export const enumerationSchema = z
  .object({
    enabled: z.boolean().default(true),
    windowMs: z.number().int().positive().default(900_000),
    /** Never fire below this many distinct model/route pairs in a window. */
    minDistinct: z.number().int().positive().default(6),
    /** Threshold = ratio × the principal's usual peak (largest of its recent peak and mean + 3 sd). */
    ratio: z.number().positive().default(2),
    /** Active windows of history before the learned threshold is used. */
    learnWindows: z.number().int().nonnegative().default(12),
    /** Threshold while learning. */
    coldStartDistinct: z.number().int().positive().default(12),
  })
  .strict();
type EnumerationParams = z.output<typeof enumerationSchema>;

interface KeyState {
  seen: Set<string>;
  stat: Ewma;
  peak: number;
  windows: number;
  fired: boolean;
}

export class EnumerationDetector implements Detector {
  readonly id = 'enumeration';
  private readonly clock: WindowClock;
  private readonly keys = new Map<string, KeyState>();
  constructor(private readonly p: EnumerationParams) {
    this.clock = new WindowClock(p.windowMs);
  }

  private threshold(s: KeyState): number {
    if (s.windows < this.p.learnWindows) return Math.max(this.p.minDistinct, this.p.coldStartDistinct);
    return Math.max(this.p.minDistinct, Math.ceil(this.p.ratio * Math.max(s.peak, s.stat.mean + 3 * s.stat.sd)) + 1);
  }

  observe(e: RampartEvent): Detection[] {
    this.tick(e.time);
    if (e.type !== 'gateway.request' || !e.principal) return [];
    let s = this.keys.get(e.principal);
    if (!s) this.keys.set(e.principal, (s = { seen: new Set(), stat: new Ewma(0.1), peak: 0, windows: 0, fired: false }));
    s.seen.add(`${e.model ?? '-'}|${String(e.data.route ?? '')}`);
    const t = this.threshold(s);
    if (s.fired || s.seen.size < t) return [];
    s.fired = true;
    return [
      {
        detector: this.id,
        dedupKey: `${this.id}:${e.principal}`,
        severity: 'high',
        title: `${e.principal} touched ${s.seen.size} distinct models/endpoints in ${this.p.windowMs / 60_000} min (usual peak ${s.peak})`,
        time: e.time,
        subject: { principal: e.principal },
        details: { distinct: s.seen.size, threshold: t, usualPeak: s.peak, sample: [...s.seen].slice(0, 20) },
      },
    ];
  }

  tick(now: number): Detection[] {
    const closed = this.clock.advance(now);
    if (closed.length === 0) return [];
    for (const [k, s] of this.keys) {
      const n = s.seen.size;
      if (n > 0) {
        // Learn from normal windows only (a fired window is clipped to the threshold).
        const x = s.fired ? Math.min(n, s.peak) : n;
        s.stat.update(x);
        s.peak = Math.max(s.peak * 0.995, x);
        s.windows++;
      } else if (s.windows === 0) {
        this.keys.delete(k);
      }
      s.seen = new Set();
      s.fired = false;
    }
    return [];
  }
}
