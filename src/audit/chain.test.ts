// The hash chain format is an external contract (docs/audit.md): these vectors were computed
// with `printf ... | sha256sum`, independently of this code.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { entryHash, GENESIS_HASH, nextEntry, selfConsistent } from './chain.js';

describe('audit chain format', () => {
  it('matches the documented construction', () => {
    expect(entryHash(1, 1_700_000_000_000, GENESIS_HASH, '{"a":1}')).toBe('474d3d755c223badfd7d86a7c9d880a4d5fdfc281412ad36e079219e68c0a321');
  });

  it('links entries and covers every field', () => {
    const a = nextEntry(null, 5, '{"x":1}');
    const b = nextEntry(a, 6, '{"x":2}');
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(b.seq).toBe(2);
    expect(b.prevHash).toBe(a.hash);
    expect(selfConsistent(b)).toBe(true);
    expect(selfConsistent({ ...b, seq: 3 })).toBe(false);
    expect(selfConsistent({ ...b, time: 7 })).toBe(false);
    expect(selfConsistent({ ...b, prevHash: GENESIS_HASH })).toBe(false);
    expect(selfConsistent({ ...b, body: '{"x":3}' })).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined, writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: null }], c: 'é"\n' }, u: undefined })).toBe(
      '{"a":{"c":"é\\"\\n","d":[3,{"x":null,"z":1}]},"b":1}',
    );
  });

  it('gives the same bytes whatever the insertion order, and round-trips through JSON.parse', () => {
    const v1 = { id: 'r1', usage: { totalTokens: 3, promptTokens: 1 }, policyIds: ['p2', 'p1'], n: 1e21, f: 0.1 };
    const v2 = { f: 0.1, n: 1e21, policyIds: ['p2', 'p1'], usage: { promptTokens: 1, totalTokens: 3 }, id: 'r1' };
    expect(canonicalJson(v1)).toBe(canonicalJson(v2));
    expect(canonicalJson(JSON.parse(canonicalJson(v1)))).toBe(canonicalJson(v1));
  });

  it('writes non-finite numbers as null and refuses cycles and BigInt', () => {
    expect(canonicalJson([Number.NaN, Infinity, -0])).toBe('[null,null,0]');
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => canonicalJson(cyc)).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('leaves out the omitted keys at the top level only', () => {
    const v = { requestBody: 'secret', id: 'r1', nested: { requestBody: 'kept' } };
    expect(canonicalJson(v, new Set(['requestBody']))).toBe('{"id":"r1","nested":{"requestBody":"kept"}}');
    expect(v.requestBody).toBe('secret');
  });

  it('serialises a shared (non-cyclic) sub-object twice', () => {
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
  });
});
