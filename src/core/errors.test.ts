import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { declaredErrorCodes, defineError, RampartError } from './errors.js';
import '../errors-all.js';

describe('error codes', () => {
  it('every declared code is documented in docs/errors.md and every documented code exists', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/`(RAMPART_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    const declared = new Set(declaredErrorCodes().keys());
    expect([...declared].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !declared.has(c))).toEqual([]);
  });

  it('refuses a duplicate code', () => {
    expect(() => defineError('RAMPART_ERR_INTERNAL', 'again')).toThrow(/duplicate/);
  });

  it('subclasses carry their code and are RampartErrors', () => {
    const E = defineError('RAMPART_ERR_TEST_ONLY_X' as string, 'test');
    const e = new E('boom');
    expect(e).toBeInstanceOf(RampartError);
    expect(e.code).toBe('RAMPART_ERR_TEST_ONLY_X');
  });
});
