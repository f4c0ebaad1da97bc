// The `rampart` command line. Commands are defined in ./commands/, one file each, and listed in
// ./commands/index.ts; each one calls a single function of its layer. Exit codes: 0 success,
// 1 a check failed (findings at or above --fail-on, verification failed, decision mismatch),
// 2 the command could not complete (bad arguments, unreadable input, internal error).
import { Command, CommanderError } from 'commander';
import { isRampartError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';
import { VERSION } from './version.js';

import { ExitCode } from './exit-code.js';

export { ExitCode };

/** The program with every command, or only the standalone command `args` invokes (commands/index.ts). */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('rampart')
    .description('Security layer for AI workloads: scan, sign, encrypt and guard models and their data.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      writeOut: (s) => process.stdout.write(s),
    })
    .exitOverride();
  await registerCommands(program, args);
  return program;
}

/** Runs the CLI and resolves to the process exit code (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv.slice(2));
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isRampartError(err)) {
      process.stderr.write(`rampart: ${err.message} [${err.code}]\n`);
      return 2;
    }
    process.stderr.write(`rampart: internal error: ${err instanceof Error ? err.message : String(err)} [RAMPART_ERR_INTERNAL]\n`);
    if (process.env.RAMPART_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    return 2;
  }
}
