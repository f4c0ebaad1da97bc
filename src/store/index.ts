// Opens the store named by the gateway config's `store` section. Callers depend on the Store
// interfaces (types.ts) only; which backend sits behind them is decided here and nowhere else.
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export type { Store, KeyStore, AuditStore, CounterStore, ApiKeyRecord, AuditEntry, AuditCheckpoint, TakeResult } from './types.js';

/** Options that are not part of the config file (tests and tools). */
export interface OpenStoreOptions {
  /** PostgreSQL schema to use instead of `public` (created if missing). */
  pgSchema?: string;
  /** Prefix of every Redis key (default `rampart:`). */
  redisPrefix?: string;
}

/**
 * Opens and migrates the configured store.
 *
 * @example
 * const store = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
 */
export async function openStore(cfg: GatewayConfig['store'], logger: Logger, opts: OpenStoreOptions = {}): Promise<Store> {
  const log = logger.child({ component: 'store' });
  switch (cfg.type) {
    case 'sqlite':
      return openSqliteStore({ path: cfg.path }, log);
    case 'postgres': {
      // Loaded on demand so the embedded default never loads the pg and ioredis drivers.
      const { openPostgresStore } = await import('./postgres.js');
      return openPostgresStore(cfg, log, opts);
    }
  }
}
