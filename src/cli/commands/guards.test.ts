import { describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';
import { GUARD_FACTORIES } from '../../guards/registry.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(['node', 'rampart', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('rampart guards list', () => {
  it('lists every registered kind with its description and default options as JSON', async () => {
    const r = await run('guards', 'list', '--format', 'json');
    expect(r.code).toBe(0);
    const kinds = JSON.parse(r.out) as { kind: string; description: string; defaults: unknown }[];
    expect(kinds.map((k) => k.kind)).toEqual(GUARD_FACTORIES.map((f) => f.kind).sort());
    for (const k of kinds) expect(k.description.length).toBeGreaterThan(0);
  });

  it('prints a table and refuses an unknown format', async () => {
    const r = await run('guards', 'list');
    expect(r.code).toBe(0);
    for (const f of GUARD_FACTORIES) expect(r.out).toContain(f.kind);
    const bad = await run('guards', 'list', '--format', 'xml');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('RAMPART_ERR_USAGE');
  });
});
