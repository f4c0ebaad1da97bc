// Entry point of the quota layer.
import type { GatewayConfig, ModelConfig } from '../config/schema.js';
import type { QuotaManager } from '../core/contracts.js';
import type { CounterStore } from '../store/types.js';
import { StoreQuotaManager, type QuotaManagerOptions } from './manager.js';

export { QuotaExceededError, type QuotaLimitKind, type QuotaScope } from './errors.js';
export { datasetQuotaName, StoreQuotaManager, type QuotaManagerOptions } from './manager.js';
export { DEFAULT_FLUSH_MS, WriteBehindCounters, type WriteBehindOptions } from './write-behind.js';

/**
 * Builds the quota manager from the `quotas` section and the models' own `quotas`.
 *
 * @example
 * const quotas = createQuotaManager(config.quotas, config.models, store.counters);
 * const lease = await quotas.acquire({ principal: p.id, model: 'chat', countsTokens: true });
 * try { ... } finally { lease.release(usage); }
 */
export function createQuotaManager(
  quotas: GatewayConfig['quotas'],
  models: readonly ModelConfig[],
  counters: CounterStore,
  options: QuotaManagerOptions = {},
): QuotaManager & { inFlightCount(scope: 'principal' | 'model', name: string): number } {
  return new StoreQuotaManager(quotas, models, counters, options);
}
