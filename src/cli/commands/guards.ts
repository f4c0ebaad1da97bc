// `rampart guards list`: the inference guard kinds this build knows (src/guards/registry.ts), with
// their descriptions and default options: what a `guards[].type` in the gateway config may name.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { GuardFactory } from '../../guards/types.js';

export interface GuardKindInfo {
  kind: string;
  description: string;
  /** The options a guard of this kind gets when its config entry sets none (null when some are required). */
  defaults: unknown;
}

/** The kinds of `factories` (the registry's, loaded by the command when it runs), sorted. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each factory has its own options type
export function guardKinds(factories: Iterable<GuardFactory<any>>): GuardKindInfo[] {
  return [...factories]
    .map((f) => {
      const d = f.options.safeParse({});
      return { kind: f.kind, description: f.description, defaults: d.success ? d.data : null };
    })
    .sort((a, b) => a.kind.localeCompare(b.kind));
}

export function register(program: Command): void {
  const guards = program.command('guards').description('inference guards of the gateway (docs/guards.md)');
  guards
    .command('list')
    .description('list the guard kinds a gateway config may use in guards[].type')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: { format: string }) => {
      if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError('--format must be table or json');
      const { guardFactories } = await import('../../guards/registry.js');
      const kinds = guardKinds(guardFactories().values());
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(kinds, null, 2)}\n`);
        return;
      }
      if (kinds.length === 0) {
        process.stdout.write('no guard kinds are built in\n');
        return;
      }
      const w = Math.max(4, ...kinds.map((k) => k.kind.length));
      process.stdout.write(`${'KIND'.padEnd(w)}  DESCRIPTION\n`);
      for (const k of kinds) process.stdout.write(`${k.kind.padEnd(w)}  ${k.description}\n`);
    });
}
