// Library entry of the gateway: `startGateway(config, opts)` wires the real layers (store, auth,
// Cedar policy, quotas, audit; see wire.ts) and starts the listener (server.ts).
import type { GatewayConfig } from '../config/schema.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';
import { createGateway, type GatewayDeps, type RunningGateway } from './server.js';
import { wireLayers } from './wire.js';

export type { RunningGateway, GatewayDeps } from './server.js';
export { createGateway, parseListen } from './server.js';
export { ADMIN_RESOURCE } from './handler.js';

export interface StartGatewayOptions {
  logger?: Logger;
  /** A store opened by the caller (kept open on close). Without it the gateway opens config.store and closes it. */
  store?: Store;
  /** Replace individual layers (tests). */
  deps?: Partial<GatewayDeps>;
  /** Register process-level metrics. Default true. */
  processMetrics?: boolean;
  /** Folder that relative paths in guard options resolve against (the config file's folder; default the working directory). */
  baseDir?: string;
}

/**
 * Starts a gateway for a validated config (see `loadConfig`/`parseConfig` in src/config/load.ts).
 *
 * @example
 * const gw = await startGateway(loadConfig('rampart.yaml').config, { logger });
 * console.log(gw.url); // https://127.0.0.1:8443
 * await gw.close();
 */
export async function startGateway(config: GatewayConfig, opts: StartGatewayOptions = {}): Promise<RunningGateway> {
  const logger = opts.logger ?? silentLogger();
  const deps = await wireLayers(config, logger, opts.store, opts.deps ?? {}, opts.baseDir);
  try {
    return await createGateway(config, deps, { logger, processMetrics: opts.processMetrics, baseDir: opts.baseDir });
  } catch (e) {
    await deps.guards?.close().catch(() => undefined);
    await deps.audit.close().catch(() => undefined);
    await deps.authenticator.close().catch(() => undefined);
    await deps.onClose?.().catch(() => undefined);
    throw e;
  }
}
