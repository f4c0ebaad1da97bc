// Parsing of human-friendly durations ("30s", "5m", "30d") and sizes ("1mb", "512kb") used in
// config files and CLI flags. Numbers are taken as milliseconds / bytes.
import { UsageError } from './errors.js';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};

/** Parses "250ms", "30s", "5m", "2h", "30d", "1w" or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`invalid duration ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(value);
  if (!m) throw new UsageError(`invalid duration "${value}" (expected e.g. 30s, 5m, 2h, 30d)`);
  const unit = (m[2] ?? 'ms').toLowerCase();
  return Math.round(Number(m[1]) * (DURATION_UNITS[unit] ?? 1));
}

/** Parses "1mb", "512kb", "2g" or a number of bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`invalid size ${value}`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$/i.exec(value);
  if (!m) throw new UsageError(`invalid size "${value}" (expected e.g. 512kb, 1mb)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  return Math.floor(Number(m[1]) * (SIZE_UNITS[unit] ?? 1));
}
