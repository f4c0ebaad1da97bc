// The one place where the gateway meets the real implementations of its layers: the store,
// authentication, the Cedar policy engine, quotas and the audit log. Everything else in
// src/gateway depends on the interfaces in src/core/contracts.ts only.
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { createAuditLog } from '../audit/index.js';
import { startAuditThread, type ThreadedAuditLog } from '../audit/thread.js';
import { createAuthenticator } from '../auth/index.js';
import { loadPolicyEngine } from '../policy/index.js';
import { createQuotaManager, WriteBehindCounters } from '../quota/index.js';
import { openStore } from '../store/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { tapAuditLog } from '../events/audit-tap.js';
import type { Registry } from 'prom-client';
import { attachMonitorMetrics } from '../monitor/metrics.js';
import { createMonitor, type Monitor } from '../monitor/monitor.js';
import type { Store } from '../store/types.js';
import type { GatewayDeps } from './server.js';
import { createDatasetIngest, type DatasetIngest } from './datasets.js';
import { GuardPipeline } from '../guards/pipeline.js';
import { makeEvent, type NewEvent } from '../events/schema.js';
import { workerHooks } from './cluster-ipc.js';

/**
 * Builds the gateway's layers from the config. A store passed in is used and left open; otherwise
 * config.store is opened here and closed when the gateway closes. `overrides` replace single layers.
 * The policy is loaded first, so a bad policy stops start-up before anything is opened.
 */
export async function wireLayers(
  config: GatewayConfig,
  logger: Logger,
  store: Store | undefined,
  overrides: Partial<GatewayDeps>,
  baseDir: string = process.cwd(),
): Promise<GatewayDeps> {
  const authorizer = overrides.authorizer ?? loadPolicyEngine(config.policy, config.models, config.datasets);
  const ownStore = store === undefined;
  const s = store ?? (await openStore(config.store, logger));
  let guards: GuardPipeline | null | undefined;
  let threadAudit: ThreadedAuditLog | null = null;
  try {
    // Guard verdicts go to the monitoring bus once it exists (a no-op when monitoring is off).
    let publish: ((e: NewEvent) => void) | null = null;
    guards =
      overrides.guards !== undefined
        ? overrides.guards
        : await GuardPipeline.build(
            config.guards,
            { logger: logger.child({ component: 'guards' }), store: s, emit: (e) => publish?.(e), baseDir, models: config.models },
            overrides.guardFactories,
          );
    // The embedded store serves one gateway process: its quota counters live in memory and are
    // written back every second (src/quota/write-behind.ts). Server stores (Redis) stay atomic per request.
    const local = !overrides.quotas && s.kind === 'sqlite' ? new WriteBehindCounters(s.counters, { logger }) : null;
    const quotas = overrides.quotas ?? createQuotaManager(config.quotas, config.models, local ?? s.counters, { logger, datasets: config.datasets });
    // Dataset ingestion: baselines read and checked now (a bad one stops start-up); events go to the monitor's bus.
    let monitorRef: Monitor | null = null;
    // In a worker process (server.workers > 1) the monitor runs in the primary: events go there.
    const worker = config.monitoring.enabled ? workerHooks() : null;
    const datasets: DatasetIngest | null = config.datasets.length
      ? createDatasetIngest({ configs: config.datasets, store: s.datasets, publish: (...e) => (monitorRef ? monitorRef.bus.publish(...e) : worker?.publish(e)), logger })
      : null;
    // Security monitoring: every audit record is also published as events (never blocking).
    const monitor: Monitor | null = config.monitoring.enabled && !worker ? createMonitor({ config: config.monitoring, store: s, logger }) : null;
    monitorRef = monitor;
    // The detectors replay the stored history (monitoring.events.warmup) before the gateway listens.
    await monitor?.ready;
    if (monitor) publish = (e) => void monitor.bus.publish(makeEvent(e));
    else if (worker) publish = (e) => worker.publish([makeEvent(e)]);
    // The embedded store's audit is written on its own thread (src/audit/thread.ts) when the gateway
    // opened the file itself; a store handed in (tests, embedders) is written inline.
    const sc = config.store;
    const threadPath = !overrides.audit && ownStore && sc.type === 'sqlite' && sc.path !== ':memory:' && config.audit.thread ? sc.path : null;
    if (threadPath !== null) {
      threadAudit = await startAuditThread({ path: threadPath, cfg: config.audit, logger });
      // WAL checkpoints (two fsyncs) run from the audit thread's commits, never on this thread.
      if (s instanceof SqliteStore) s.setAutoCheckpoint(false);
    }
    const baseAudit = overrides.audit ?? threadAudit ?? createAuditLog(s.audit, config.audit, logger);
    // In a worker, the records' events go to the monitor in the primary (the worker chains the records itself).
    const audit = monitor
      ? tapAuditLog(baseAudit, monitor.bus)
      : worker
        ? tapAuditLog(baseAudit, { publish: (...e) => (worker.publish(e), e.length) })
        : baseAudit;
    const authenticator = overrides.authenticator ?? createAuthenticator(config.auth, s.keys, logger);
    return {
      authenticator,
      authorizer,
      quotas,
      audit,
      guards,
      store: s,
      ...((monitor || worker) && s.alerts ? { alerts: s.alerts } : {}),
      ...(datasets ? { datasets } : {}),
      ...(monitor ? { onMetrics: (registry: Registry) => attachMonitorMetrics(registry, monitor.metrics) } : {}),
      onClose: async () => {
        await monitor?.close();
        await local?.close().catch((e: unknown) => logger.error({ err: e }, 'could not write quota counters on close'));
        await overrides.onClose?.();
        if (ownStore) await s.close();
      },
    };
  } catch (e) {
    await guards?.close().catch(() => undefined);
    await threadAudit?.close().catch(() => undefined);
    if (ownStore) await s.close().catch(() => undefined);
    throw e;
  }
}
