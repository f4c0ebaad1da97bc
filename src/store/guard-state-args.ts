// Argument checks of the guard-state store (types.ts, GuardStateStore), shared by every backend so
// they refuse the same inputs with the same coded error.
import { StoreBadArgumentError } from './errors.js';

/** Longest key accepted (keys name a guard, a principal and a part of its state). */
export const MAX_GUARD_STATE_KEY = 512;
/** Largest blob accepted, in UTF-16 code units (about 4 MiB of ASCII JSON). */
export const MAX_GUARD_STATE_VALUE = 4 * 1024 * 1024;

export function checkStateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_GUARD_STATE_KEY) {
    throw new StoreBadArgumentError(`guard state key must be a string of 1..${MAX_GUARD_STATE_KEY} characters`);
  }
}

export function checkCasArgs(key: string, expectedVersion: number, value: string, expiresAt: number, now: number): void {
  checkStateKey(key);
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) throw new StoreBadArgumentError('expectedVersion must be an integer >= 0');
  if (typeof value !== 'string' || value.length > MAX_GUARD_STATE_VALUE) throw new StoreBadArgumentError('guard state value must be a string of at most 4 Mi characters');
  if (!Number.isFinite(expiresAt) || !Number.isFinite(now)) throw new StoreBadArgumentError('expiresAt and now must be finite numbers');
}
