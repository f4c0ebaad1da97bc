// The command list loads one module alone only for the commands it declares standalone; those
// declarations must match what the module really registers, or `rampart <cmd>` would break.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../main.js';
import { modulesFor } from './index.js';

describe('command modules', () => {
  it('a standalone module registers exactly the top-level commands it declares', async () => {
    const all = modulesFor([]);
    const standalone = all.filter((m) => m.standalone);
    expect(standalone.length).toBeGreaterThan(0);
    for (const m of standalone) {
      const program = new Command();
      (await m.load()).register(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...m.standalone!].sort());
      for (const name of m.standalone!) expect(modulesFor([name, '--help'])).toEqual([m]);
    }
  });

  it('anything else loads every module, so help and other commands see them all', async () => {
    for (const args of [[], ['--help'], ['--version'], ['keys', 'list'], ['scan', 'x'], ['-h', 'encrypt']]) expect(modulesFor(args)).toHaveLength(modulesFor([]).length);
    const full = (await buildProgram([])).commands.map((c) => c.name());
    expect(full).toEqual(expect.arrayContaining(['encrypt', 'decrypt', 'rewrap', 'keys', 'scan', 'sign', 'verify', 'gateway']));
    const alone = (await buildProgram(['encrypt', 'in', '-o', 'out'])).commands.map((c) => c.name());
    expect(alone.sort()).toEqual(['decrypt', 'encrypt', 'rewrap']);
  });
});
