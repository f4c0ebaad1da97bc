// What a detector is: keyed, streaming state fed with events in time order. `observe` may report
// detections at once (bursts); `tick` closes evaluation windows up to `now` (also called by
// observe with the event's time, so a replay at any speed gives the same results).
import type { Severity } from '../../core/types.js';
import type { RampartEvent } from '../../events/schema.js';

export interface Detection {
  detector: string;
  /** Same key = same ongoing problem; folded into one alert while it is not resolved. */
  dedupKey: string;
  severity: Severity;
  title: string;
  /** Event time at which it was detected. */
  time: number;
  /** The keys it is about, e.g. `{ principal: 'alice' }` or `{ sourceIp: '10.0.0.1' }`. */
  subject: Record<string, string>;
  details: Record<string, unknown>;
}

export interface Detector {
  readonly id: string;
  observe(e: RampartEvent): Detection[];
  tick(now: number): Detection[];
}

/**
 * Tumbling evaluation windows driven by event time: `advance(t)` returns the starts of the windows
 * that ended at or before `t`, oldest first, so each is evaluated exactly once.
 */
export class WindowClock {
  private start: number | null = null;
  constructor(readonly windowMs: number) {}

  get current(): number | null {
    return this.start;
  }

  advance(t: number): number[] {
    const s = Math.floor(t / this.windowMs) * this.windowMs;
    if (this.start === null) {
      this.start = s;
      return [];
    }
    const closed: number[] = [];
    // A long gap closes at most a week of empty windows one by one; beyond that jump.
    if (s - this.start > 2016 * this.windowMs) this.start = s - 2016 * this.windowMs;
    while (this.start < s) {
      closed.push(this.start);
      this.start += this.windowMs;
    }
    return closed;
  }
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
