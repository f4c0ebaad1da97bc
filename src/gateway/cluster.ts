// Several gateway processes on one machine (server.workers > 1), with node:cluster. The workers
// share the listener (the primary hands out connections round-robin) and each runs the whole
// request pipeline, audit included: each worker appends its records to the one hash chain in the
// store, as replicas do (the store refuses an append that does not continue the head; the writer
// re-reads it and retries). What must be one counter for the whole gateway lives in the primary:
// the quota counters, which the workers call over IPC (cluster-ipc.ts): a quota check is one round
// trip, batched with the other checks of the same event-loop turn (far from the limits, one round
// trip reserves several admissions), so limits are as exact as with one process. /metrics, served
// by any worker, is the sum over all processes. The security monitor, when enabled, runs in the
// primary too: the workers send it the events of their audit records and their other events
// (guard verdicts, dataset records). See docs/gateway.md, "Several processes".
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { GatewayConfig } from '../config/schema.js';
import type { QuotaLease, QuotaManager } from '../core/contracts.js';
import { silentLogger } from '../core/logger.js';
import { loadPolicyEngine } from '../policy/index.js';
import { createQuotaManager, WriteBehindCounters } from '../quota/index.js';
import { openStore } from '../store/index.js';
import { attachMonitorMetrics } from '../monitor/metrics.js';
import { createMonitor, type Monitor } from '../monitor/monitor.js';
import { GuardPipeline } from '../guards/pipeline.js';
import { type Answer, cachedFor, type FromWorker, isOurs, PrimaryLink, readWorkerMessage, setWorkerHooks, TAG, toWire, type ToWorker, type Op } from './cluster-ipc.js';
import { WorkerFailedError } from './errors.js';
import { createMetrics } from './metrics.js';
import { startGateway, type RunningGateway, type StartGatewayOptions } from './index.js';

/** Number of processes for server.workers (`auto`: one per CPU the process may use). */
export function workerCount(w: GatewayConfig['server']['workers']): number {
  return w === 'auto' ? Math.max(1, availableParallelism()) : w;
}

/**
 * Runs the gateway as configured: one process (exactly `startGateway`) or, with server.workers > 1,
 * a primary and its workers. Call it from the program's main module: each worker runs that same
 * module again, and in a worker this call serves until the primary tells it to stop (it never
 * resolves there). In the primary it resolves once every worker listens.
 */
export function runGateway(config: GatewayConfig, opts: StartGatewayOptions = {}): Promise<RunningGateway> {
  const n = workerCount(config.server.workers);
  if (n <= 1) return startGateway(config, opts);
  if (cluster.isWorker) return runWorker(config, opts);
  return startPrimary(config, n, opts);
}

// --- worker ------------------------------------------------------------------------------------

function send(m: FromWorker): void {
  process.send?.(m);
}

async function runWorker(config: GatewayConfig, opts: StartGatewayOptions): Promise<RunningGateway> {
  // Ctrl-C reaches every process of the group: the primary decides when and how workers stop.
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  const link = new PrimaryLink((m) => process.send?.(m));
  let gw: RunningGateway | null = null;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await gw?.close();
    } finally {
      link.disconnect();
      process.exit(code);
    }
  };
  process.on('message', (m: unknown) => {
    if (!isOurs(m)) return;
    const msg = m as ToWorker;
    if ('answers' in msg) link.onAnswers(msg.answers);
    else if ('metricsReq' in msg) void localMetrics().then((data) => send({ t: TAG, metricsRes: msg.metricsReq, data }));
    else if ('shutdown' in msg) void stop(0);
  });
  // The primary is gone (killed): nothing can be accounted any more, so stop serving.
  process.on('disconnect', () => {
    link.disconnect();
    void stop(1);
  });
  let localMetrics: () => Promise<unknown> = async () => [];
  try {
    // The monitor runs in the primary: the events made here (of audit records, guard verdicts,
    // dataset records) are sent to it (wire.ts asks for these hooks).
    setWorkerHooks({ publish: (events) => link.publish(events) });
    // Each worker appends its own records to the one chain in the store (as replicas do: the store
    // refuses an append that does not continue the head, and the writer re-reads it and retries).
    gw = await startGateway(config, { ...opts, deps: { ...opts.deps, quotas: link.quotas } });
    const registry = gw.metrics.registry;
    const own = registry.getMetricsAsJSON.bind(registry);
    localMetrics = own;
    // /metrics answers with the sum over all processes, which the primary collects.
    registry.metrics = () => link.metricsText();
    send({ t: TAG, ready: true });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    send({ t: TAG, startError: `${(e as Error).message ?? String(e)}${typeof code === 'string' ? ` [${code}]` : ''}` });
    process.exit(1);
  }
  return new Promise<RunningGateway>(() => undefined);
}

// --- primary -----------------------------------------------------------------------------------

/** How long the primary reuses the aggregated /metrics text (ms). */
const METRICS_CACHE_MS = 1000;

interface WorkerState {
  worker: Worker;
  leases: Map<number, QuotaLease>;
  answers: Answer[];
  scheduled: boolean;
}

async function startPrimary(config: GatewayConfig, n: number, opts: StartGatewayOptions): Promise<RunningGateway> {
  const logger = (opts.logger ?? silentLogger()).child({ component: 'gateway-primary' });
  // A bad policy stops start-up here, once, with its line and reason (workers would each fail).
  loadPolicyEngine(config.policy, config.models, config.datasets);
  const ownStore = opts.store === undefined;
  const store = opts.store ?? (await openStore(config.store, logger));
  // So does a bad guard config (RAMPART_ERR_GUARD_CONFIG_INVALID): the guards are built once here
  // and closed again; each worker builds its own.
  if (opts.deps?.guards === undefined) {
    try {
      const env = { logger, store, emit: () => undefined, baseDir: opts.baseDir ?? process.cwd(), models: config.models };
      await (await GuardPipeline.build(config.guards, env, opts.deps?.guardFactories))?.close();
    } catch (e) {
      if (ownStore) await store.close().catch(() => undefined);
      throw e;
    }
  }
  const local = store.kind === 'sqlite' && !opts.deps?.quotas ? new WriteBehindCounters(store.counters, { logger }) : null;
  const quotas: QuotaManager = opts.deps?.quotas ?? createQuotaManager(config.quotas, config.models, local ?? store.counters, { logger, datasets: config.datasets });
  const monitor: Monitor | null = config.monitoring.enabled ? createMonitor({ config: config.monitoring, store, logger }) : null;
  // The detectors replay the stored history (monitoring.events.warmup) before anyone listens.
  await monitor?.ready;
  const metrics = createMetrics(opts.processMetrics ?? true);
  if (monitor) attachMonitorMetrics(metrics.registry, monitor.metrics);

  const states = new Map<number, WorkerState>();
  let closing = false;
  let metricsSeq = 0;
  const metricsWaits = new Map<number, (data: unknown) => void>();

  const answer = (s: WorkerState, a: Answer): void => {
    s.answers.push(a);
    if (s.scheduled) return;
    s.scheduled = true;
    setImmediate(() => {
      s.scheduled = false;
      const answers = s.answers;
      s.answers = [];
      if (!s.worker.isConnected()) return;
      try {
        s.worker.send({ t: TAG, answers } satisfies ToWorker);
      } catch (e) {
        logger.warn({ err: { message: (e as Error).message }, worker: s.worker.id }, 'could not answer a worker');
      }
    });
  };

  const workerMetrics = (s: WorkerState): Promise<unknown> =>
    new Promise((resolve) => {
      const id = ++metricsSeq;
      const timer = setTimeout(() => {
        metricsWaits.delete(id);
        resolve(null);
      }, 2000);
      metricsWaits.set(id, (data) => {
        clearTimeout(timer);
        metricsWaits.delete(id);
        resolve(data);
      });
      try {
        s.worker.send({ t: TAG, metricsReq: id } satisfies ToWorker);
      } catch {
        metricsWaits.get(id)?.(null);
      }
    });

  // /metrics may be public (observability.metrics.requireAuth): each scrape asks every worker, so
  // the sum is reused for a second (scrapers poll every 10 s or more; a burst costs one fan-out).
  const aggregated = cachedFor(METRICS_CACHE_MS, async (): Promise<string> => {
    const parts = await Promise.all([...states.values()].map(workerMetrics));
    parts.push(await metrics.registry.getMetricsAsJSON());
    return AggregatorRegistry.aggregate(parts.filter((p) => Array.isArray(p)) as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  });

  /** Ends a lease that no request will release: cancelled (token refunded) when it can be. */
  const giveBack = (lease: QuotaLease): void => {
    try {
      if (lease.cancel) lease.cancel();
      else lease.release(null);
    } catch (e) {
      logger.error({ err: e }, 'quota release failed');
    }
  };

  const onOps = (s: WorkerState, ops: Op[]): void => {
    for (const op of ops) {
      switch (op[0]) {
        case 'reserve': {
          const [, id, principal, model, countsTokens, want] = op;
          const req = { principal, model, countsTokens };
          const got = want > 1 && quotas.acquireMany ? quotas.acquireMany(req, want) : quotas.acquire(req).then((l) => [l]);
          got.then(
            (leases) => {
              // The worker died meanwhile: nobody will use or release them, so do it now.
              if (!states.has(s.worker.id)) for (const l of leases) giveBack(l);
              else {
                leases.forEach((l, j) => s.leases.set(id + j, l));
                answer(s, [id, true, leases.length]);
              }
            },
            (e: unknown) => answer(s, [id, false, toWire(e)]),
          );
          break;
        }
        case 'unreserve':
          for (const id of op[1]) {
            const lease = s.leases.get(id);
            s.leases.delete(id);
            if (lease) giveBack(lease);
          }
          break;
        case 'release': {
          const lease = s.leases.get(op[1]);
          s.leases.delete(op[1]);
          try {
            lease?.release(op[2]);
          } catch (e) {
            logger.error({ err: e }, 'quota release failed');
          }
          break;
        }
        case 'events':
          try {
            monitor?.bus.publish(...op[1]);
          } catch (e) {
            logger.error({ err: e }, 'could not publish events from a worker');
          }
          break;
        case 'metrics': {
          const id = op[1];
          aggregated().then(
            (text) => answer(s, [id, true, text]),
            (e: unknown) => answer(s, [id, false, toWire(e)]),
          );
          break;
        }
        default:
          break;
      }
    }
  };

  let listening: { address: string; port: number } | null = null;
  let readyCount = 0;
  let startFailed: ((e: Error) => void) | null = null;
  let started: (() => void) | null = null;
  const startup = new Promise<void>((resolve, reject) => {
    started = resolve;
    startFailed = reject;
  });

  const fork = (): void => {
    const worker = cluster.fork();
    const s: WorkerState = { worker, leases: new Map(), answers: [], scheduled: false };
    states.set(worker.id, s);
    worker.on('message', (m: unknown) => {
      if (!isOurs(m)) return;
      // A worker's message is checked before use, and nothing it holds may end the primary.
      try {
        const { msg, dropped } = readWorkerMessage(m);
        if (dropped > 0) logger.warn({ worker: worker.id, dropped }, 'ignored malformed messages from a gateway worker');
        if (!msg) return;
        if ('ops' in msg) onOps(s, msg.ops);
        else if ('metricsRes' in msg) metricsWaits.get(msg.metricsRes)?.(msg.data);
        else if ('ready' in msg) {
          if (++readyCount === n) started?.();
        } else if ('startError' in msg) startFailed?.(new WorkerFailedError(`a gateway worker failed to start: ${msg.startError}`));
      } catch (e) {
        logger.error({ err: { message: (e as Error)?.message }, worker: worker.id }, 'error handling a message from a gateway worker');
      }
    });
    worker.on('listening', (addr: { address: string; port: number }) => {
      listening ??= addr;
    });
    worker.on('exit', (code, signal) => {
      states.delete(worker.id);
      // Its requests in flight and its unused reservations are gone: free their slots. Not
      // cancelled: the primary cannot tell which were used, and a used one keeps its token.
      for (const lease of s.leases.values()) lease.release(null);
      s.leases.clear();
      if (closing) return;
      if (readyCount < n) {
        startFailed?.(new WorkerFailedError(`a gateway worker exited during start-up (code ${code ?? signal})`));
        return;
      }
      logger.error({ worker: worker.id, code, signal }, 'gateway worker exited; starting a new one');
      setTimeout(() => {
        if (!closing) fork();
      }, 1000).unref();
    });
  };

  const stopWorkers = async (): Promise<void> => {
    const alive = [...states.values()].map((s) => s.worker);
    const exited = alive.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    for (const w of alive) {
      try {
        w.send({ t: TAG, shutdown: true } satisfies ToWorker);
      } catch {
        w.kill();
      }
    }
    // Workers drain for up to server.drainTimeout; past that (plus margin) they are killed.
    const timer = setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
    }, config.server.drainTimeout + 15_000);
    await Promise.all(exited);
    clearTimeout(timer);
  };

  const closeLayers = async (): Promise<void> => {
    const steps: [string, () => Promise<void>][] = [
      ['monitor', () => (monitor ? monitor.close() : Promise.resolve())],
      ['quota counters', () => (local ? local.close() : Promise.resolve())],
      ['store', () => (ownStore ? store.close() : Promise.resolve())],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (e) {
        logger.error({ err: e, what }, 'error while closing');
      }
    }
  };

  for (let i = 0; i < n; i++) fork();
  try {
    await startup;
  } catch (e) {
    closing = true;
    await stopWorkers();
    await closeLayers();
    throw e;
  }
  const addr = listening as { address: string; port: number } | null;
  const port = addr?.port ?? 0;
  const host = addr?.address ?? '127.0.0.1';
  const urlHost = host.includes(':') ? (host === '::' ? '[::1]' : `[${host}]`) : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `${config.server.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  logger.info({ url, workers: n }, 'gateway listening with several worker processes');

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    metrics,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        await stopWorkers();
        await closeLayers();
        logger.info('gateway stopped');
      })();
      return closed;
    },
  };
}
