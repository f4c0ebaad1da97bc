// The one list of CLI commands. Each module exports `register(program)`; add new commands here.
import type { Command } from 'commander';
import { register as registerErrors } from './errors.js';

export function registerCommands(program: Command): void {
  registerErrors(program);
}
