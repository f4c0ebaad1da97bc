// `rampart errors`: lists every stable error code with its meaning.
import type { Command } from 'commander';
import { declaredErrorCodes } from '../../core/errors.js';
import '../../errors-all.js';

export function register(program: Command): void {
  program
    .command('errors')
    .description('list the stable error codes Rampart can report')
    .option('--format <format>', 'table or json', 'table')
    .action((opts: { format: string }) => {
      const codes = [...declaredErrorCodes()].sort(([a], [b]) => a.localeCompare(b));
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(codes.map(([code, summary]) => ({ code, summary })), null, 2)}\n`);
      } else {
        for (const [code, summary] of codes) process.stdout.write(`${code.padEnd(44)} ${summary}\n`);
      }
    });
}
