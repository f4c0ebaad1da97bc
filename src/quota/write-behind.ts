// In-memory quota counters with periodic write-back, for the embedded (single-machine) SQLite
// store: token buckets and token windows are kept in this process, using exactly the arithmetic
// of the store (src/store/counter-math.ts), so a request costs no SQLite transaction. Every
// `flushMs` (default 1 s) and on close, what was consumed is written to the store, whose state
// seeds the counters again after a restart. Not for replicas: several gateways sharing counters
// use Redis, whose counters are atomic per request (DESIGN.md, "State and scale").
//
// Bounds: a crash loses at most one flush interval of consumption (a restarted gateway may admit
// that much more); two processes sharing one SQLite file each admit from their own copy between
// flushes, then merge the store's view (the smaller bucket, the larger window total).
import type { Logger } from '../core/logger.js';
import { bucketStep, checkBucketArgs, checkWindowArgs, windowStart, type BucketState } from '../store/counter-math.js';
import type { CounterStore, TakeResult } from '../store/types.js';

export const DEFAULT_FLUSH_MS = 1_000;

interface Bucket extends BucketState {
  capacity: number;
  refillPerMs: number;
  /** Consumed here and not yet written to the store. */
  pending: number;
}

interface Win {
  key: string;
  windowMs: number;
  start: number;
  total: number;
  pending: number;
}

export interface WriteBehindOptions {
  flushMs?: number;
  logger?: Logger;
}

export class WriteBehindCounters implements CounterStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly seedingBuckets = new Map<string, Promise<void>>();
  private readonly windows = new Map<string, Win>();
  private readonly seedingWindows = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: CounterStore,
    private readonly opts: WriteBehindOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? DEFAULT_FLUSH_MS);
    this.timer.unref();
  }

  takeTokensSync(key: string, capacity: number, refillPerMs: number, cost: number, now: number): TakeResult | undefined {
    checkBucketArgs(key, capacity, refillPerMs, cost, now);
    const b = this.buckets.get(key);
    return b === undefined ? undefined : this.step(b, capacity, refillPerMs, cost, now);
  }

  getWindowSync(key: string, windowMs: number, now: number): number | undefined {
    checkWindowArgs(key, windowMs, now);
    return this.windows.get(`${windowMs}\u0000${windowStart(windowMs, now)}\u0000${key}`)?.total;
  }

  addToWindowSync(key: string, windowMs: number, amount: number, now: number): number | undefined {
    checkWindowArgs(key, windowMs, now, amount);
    const w = this.windows.get(`${windowMs}\u0000${windowStart(windowMs, now)}\u0000${key}`);
    if (w === undefined) return undefined;
    w.total += amount;
    w.pending += amount;
    return w.total;
  }

  refundTokensSync(key: string, amount: number): boolean {
    const b = this.buckets.get(key);
    if (b === undefined || !(amount > 0)) return false;
    b.tokens = Math.min(b.capacity, b.tokens + amount);
    // Not yet written to the store: write less. Already written: the store keeps the smaller view
    // at the next flush, so a refund can only make admission stricter, never looser.
    b.pending = Math.max(0, b.pending - amount);
    return true;
  }

  async takeTokens(key: string, capacity: number, refillPerMs: number, cost: number, now: number): Promise<TakeResult> {
    checkBucketArgs(key, capacity, refillPerMs, cost, now);
    let b = this.buckets.get(key);
    if (!b) {
      const seeding = this.seedingBuckets.get(key);
      if (seeding) {
        await seeding;
        b = this.buckets.get(key);
      }
    }
    if (!b) {
      // First use in this process: the store takes this request's cost and tells what is left.
      let result!: TakeResult;
      const p = this.store.takeTokens(key, capacity, refillPerMs, cost, now).then((r) => {
        result = r;
        this.buckets.set(key, { tokens: r.remaining, updatedAt: now, capacity, refillPerMs, pending: 0 });
      });
      this.seedingBuckets.set(key, p);
      try {
        await p;
      } finally {
        this.seedingBuckets.delete(key);
      }
      return result;
    }
    return this.step(b, capacity, refillPerMs, cost, now);
  }

  private step(b: Bucket, capacity: number, refillPerMs: number, cost: number, now: number): TakeResult {
    // Limits may change with a config reload: the bucket follows the caller's current ones.
    b.capacity = capacity;
    b.refillPerMs = refillPerMs;
    const { next, result } = bucketStep(b, capacity, refillPerMs, cost, now);
    b.tokens = next.tokens;
    b.updatedAt = next.updatedAt;
    if (result.allowed) b.pending += cost;
    return result;
  }

  async addToWindow(key: string, windowMs: number, amount: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now, amount);
    const w = await this.window(key, windowMs, now);
    w.total += amount;
    w.pending += amount;
    return w.total;
  }

  async getWindow(key: string, windowMs: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now);
    return (await this.window(key, windowMs, now)).total;
  }

  private async window(key: string, windowMs: number, now: number): Promise<Win> {
    const start = windowStart(windowMs, now);
    const id = `${windowMs}\u0000${start}\u0000${key}`;
    let w = this.windows.get(id);
    if (w) return w;
    const seeding = this.seedingWindows.get(id);
    if (seeding) {
      await seeding;
      w = this.windows.get(id);
      if (w) return w;
    }
    const p = this.store.getWindow(key, windowMs, now).then((total) => {
      this.windows.set(id, { key, windowMs, start, total, pending: 0 });
    });
    this.seedingWindows.set(id, p);
    try {
      await p;
    } finally {
      this.seedingWindows.delete(id);
    }
    return this.windows.get(id)!;
  }

  /** Writes what was consumed since the last flush to the store. Failures are logged and retried next time. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const now = Date.now();
    for (const [key, b] of this.buckets) {
      if (b.pending > 0) {
        // At most one full bucket per write: the store refuses a cost above its capacity.
        const cost = Math.min(b.pending, b.capacity);
        b.pending = 0;
        try {
          const r = await this.store.takeTokens(key, b.capacity, b.refillPerMs, cost, Math.max(now, b.updatedAt));
          // Another process sharing the store may have used tokens too: keep the smaller view.
          if (r.allowed && r.remaining < b.tokens) b.tokens = r.remaining;
        } catch (e) {
          b.pending += cost;
          this.warn(e, key);
        }
      } else if (now - b.updatedAt > b.capacity / b.refillPerMs) {
        // Full again and nothing to write: forget it (the store has the same state).
        this.buckets.delete(key);
      }
    }
    for (const [id, w] of this.windows) {
      if (w.pending > 0) {
        const amount = w.pending;
        w.pending = 0;
        try {
          const total = await this.store.addToWindow(w.key, w.windowMs, amount, w.start);
          if (total > w.total) w.total = total;
        } catch (e) {
          w.pending += amount;
          this.warn(e, w.key);
        }
      } else if (w.start + w.windowMs <= now) {
        this.windows.delete(id);
      }
    }
  }

  private warn(e: unknown, key: string): void {
    this.opts.logger?.warn({ err: { code: (e as { code?: string }).code, message: (e as Error).message }, key }, 'could not write quota counters to the store');
  }

  /** Stops the timer and writes everything pending. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    // A flush that was already running when close() was called may have missed the last updates.
    await this.flush();
  }
}
