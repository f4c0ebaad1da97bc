// The one place where the gateway meets the real implementations of its layers: the store,
// authentication, the Cedar policy engine, quotas and the audit log. Everything else in
// src/gateway depends on the interfaces in src/core/contracts.ts only.
import type { GatewayConfig } from '../config/schema.js';
import { InternalError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createAuthenticator } from '../auth/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { GatewayDeps } from './server.js';

/**
 * Builds the gateway's layers from the config. A store passed in is used and left open; otherwise
 * config.store is opened here and closed when the gateway closes. `overrides` replace single layers.
 */
export async function wireLayers(config: GatewayConfig, logger: Logger, store: Store | undefined, overrides: Partial<GatewayDeps>): Promise<GatewayDeps> {
  const ownStore = store === undefined;
  const s = store ?? (await openStore(config.store, logger));
  try {
    const missing = (what: string): never => {
      throw new InternalError(`the ${what} layer is not available in this build`);
    };
    const authorizer = overrides.authorizer ?? missing('policy');
    const quotas = overrides.quotas ?? missing('quota');
    const audit = overrides.audit ?? missing('audit');
    const authenticator = overrides.authenticator ?? createAuthenticator(config.auth, s.keys, logger);
    return {
      authenticator,
      authorizer,
      quotas,
      audit,
      onClose: async () => {
        await overrides.onClose?.();
        if (ownStore) await s.close();
      },
    };
  } catch (e) {
    if (ownStore) await s.close().catch(() => undefined);
    throw e;
  }
}
