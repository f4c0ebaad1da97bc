// The arithmetic of the counter store, shared by the SQL implementations (the Redis one repeats it
// in Lua, see redis-counters.ts). Kept pure so every backend computes exactly the same thing.
import type { TakeResult } from './types.js';
import { StoreBadArgumentError } from './errors.js';

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

export function checkBucketArgs(key: string, capacity: number, refillPerMs: number, cost: number, now: number): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreBadArgumentError('counter key must be a non-empty string');
  if (!(capacity > 0) || !Number.isFinite(capacity)) throw new StoreBadArgumentError('capacity must be a positive finite number');
  if (!(refillPerMs > 0) || !Number.isFinite(refillPerMs)) throw new StoreBadArgumentError('refillPerMs must be a positive finite number');
  if (!(cost >= 0) || !Number.isFinite(cost)) throw new StoreBadArgumentError('cost must be a finite number >= 0');
  if (!Number.isFinite(now)) throw new StoreBadArgumentError('now must be a finite number');
}

export function checkWindowArgs(key: string, windowMs: number, now: number, amount = 0): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreBadArgumentError('counter key must be a non-empty string');
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new StoreBadArgumentError('windowMs must be a positive integer');
  if (!Number.isFinite(now)) throw new StoreBadArgumentError('now must be a finite number');
  if (!Number.isFinite(amount)) throw new StoreBadArgumentError('amount must be a finite number');
}

/**
 * One token-bucket step. A missing bucket starts full. Time never runs backwards: a `now` older
 * than the stored update time (clock skew between replicas) refills nothing and keeps the newer
 * time, so skew can never mint tokens.
 */
export function bucketStep(
  state: BucketState | null,
  capacity: number,
  refillPerMs: number,
  cost: number,
  now: number,
): { next: BucketState; result: TakeResult } {
  const prev = state ?? { tokens: capacity, updatedAt: now };
  const elapsed = Math.max(0, now - prev.updatedAt);
  const available = Math.min(capacity, prev.tokens + elapsed * refillPerMs);
  const updatedAt = Math.max(prev.updatedAt, now);
  if (available >= cost) {
    const left = available - cost;
    return { next: { tokens: left, updatedAt }, result: { allowed: true, remaining: left, retryAfterMs: 0 } };
  }
  return {
    next: { tokens: available, updatedAt },
    result: { allowed: false, remaining: 0, retryAfterMs: Math.ceil((cost - available) / refillPerMs) },
  };
}

/** Start of the fixed window of length `windowMs` that contains `now`. */
export function windowStart(windowMs: number, now: number): number {
  return Math.floor(now / windowMs) * windowMs;
}
