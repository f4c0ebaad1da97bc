// How CLI commands find the store: `--config FILE` (the gateway config's `store` section) or
// `--store PATH` (a SQLite file), defaulting to ./rampart.db. Shared by `rampart keys` and
// `rampart audit` so both always open the same store the gateway uses.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { FileNotFoundError, UsageError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { openStore } from './index.js';
import type { Store } from './types.js';

export interface StoreCliOptions {
  /** Gateway config file whose `store` section names the store. */
  config?: string;
  /** SQLite store file. */
  store?: string;
}

export interface OpenStoreFromCliOptions {
  /** Create a SQLite file that does not exist yet (commands that write, e.g. `keys create`). Default false. */
  create?: boolean;
  logger?: Logger;
}

export const DEFAULT_STORE_PATH = 'rampart.db';

/** The store section the CLI flags designate (no I/O beyond reading the config file). */
export function storeConfigFromCli(opts: StoreCliOptions): GatewayConfig['store'] {
  if (opts.config !== undefined && opts.store !== undefined) throw new UsageError('give either --config FILE or --store PATH, not both');
  if (opts.config !== undefined) return loadConfig(opts.config).config.store;
  return { type: 'sqlite', path: resolve(opts.store ?? DEFAULT_STORE_PATH) };
}

/**
 * Opens the store designated by `--config FILE` / `--store PATH` (default ./rampart.db).
 * Read-only commands leave `create` off, so a mistyped path is an error rather than a new, empty
 * store that would "verify" fine.
 *
 * @example
 * program.command('list').option('--config <file>').option('--store <path>')
 *   .action(async (o) => { const store = await openStoreFromCli(o); try { ... } finally { await store.close(); } });
 */
export async function openStoreFromCli(opts: StoreCliOptions, options: OpenStoreFromCliOptions = {}): Promise<Store> {
  const cfg = storeConfigFromCli(opts);
  if (cfg.type === 'sqlite' && cfg.path !== ':memory:' && !options.create && !existsSync(cfg.path)) {
    throw new FileNotFoundError(`store ${cfg.path} does not exist (give --store PATH or --config FILE)`);
  }
  return openStore(cfg, options.logger ?? silentLogger());
}
