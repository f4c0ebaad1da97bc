import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from './units.js';

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration(42)).toBe(42);
  });
  it('parses sizes', () => {
    expect(parseSize('1mb')).toBe(1024 * 1024);
    expect(parseSize('512KB')).toBe(512 * 1024);
    expect(parseSize(10)).toBe(10);
  });
  it('rejects garbage with a coded error', () => {
    for (const bad of ['', 'abc', '10 parsecs', '-5s']) {
      expect(() => parseDuration(bad)).toThrowError(expect.objectContaining({ code: 'RAMPART_ERR_USAGE' }) as Error);
    }
    expect(() => parseSize('1tb')).toThrowError(expect.objectContaining({ code: 'RAMPART_ERR_USAGE' }) as Error);
  });
});
