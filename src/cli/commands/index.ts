// The one list of CLI commands. Each module exports `register(program)`; add new commands here.
// Modules are imported when the program is built; when the invoked command is listed as
// standalone below, only its module is loaded (a whole-file `rampart encrypt` should not pay for
// loading the gateway, scanners and dataset checks).
import type { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

/** In help order: the module, and the top-level commands it defines when it may be loaded alone. */
const MODULES: { load: () => Promise<CommandModule>; standalone?: readonly string[] }[] = [
  { load: () => import('./errors.js') },
  { load: () => import('./gateway.js') },
  { load: () => import('./guards.js') },
  { load: () => import('./certs.js') },
  { load: () => import('./keys.js') },
  { load: () => import('./keys-kek.js') },
  { load: () => import('./encrypt.js'), standalone: ['encrypt', 'decrypt', 'rewrap'] },
  { load: () => import('./policy.js') },
  { load: () => import('./audit.js') },
  { load: () => import('./alerts.js') },
  { load: () => import('./events.js') },
  { load: () => import('./sign.js') },
  { load: () => import('./verify.js') },
  { load: () => import('./scan.js') },
  { load: () => import('./dataset.js') },
  { load: () => import('./baseline.js') },
  { load: () => import('./demo.js') },
];

/** The modules to load for `args` (the arguments after the script name): one, or all of them. */
export function modulesFor(args: readonly string[]): typeof MODULES {
  const first = args[0];
  const alone = first === undefined ? undefined : MODULES.find((m) => m.standalone?.includes(first));
  return alone ? [alone] : MODULES;
}

/** Registers every command, or only the standalone one `args` invokes (see MODULES). */
export async function registerCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const mods = await Promise.all(modulesFor(args).map((m) => m.load()));
  for (const m of mods) m.register(program);
}
