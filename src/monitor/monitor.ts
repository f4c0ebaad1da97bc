// The monitor runtime: the event bus, the detectors and user rules subscribed to it, the alert
// manager that stores alerts, and the outbox dispatcher that delivers notifications to the sinks.
// Nothing here is on the request path: the gateway only publishes to the bus.
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { EventBus } from '../events/bus.js';
import { persistEvents, type EventPersister } from '../events/persist.js';
import type { RampartEvent } from '../events/schema.js';
import type { Store } from '../store/types.js';
import { AlertManager } from './alerts.js';
import type { MonitoringConfig } from './config.js';
import { createDetectors, type Detection, type Detector } from './detectors/index.js';
import { MonitorStoreUnsupportedError } from './errors.js';
import { createMonitorMetrics, type MonitorMetrics } from './metrics.js';
import { OutboxDispatcher } from './outbox.js';
import { RuleDetector } from './rules.js';
import { createSink, type AlertSink } from './sinks/index.js';

export interface MonitorOptions {
  config: MonitoringConfig;
  store: Store;
  logger: Logger;
  /** Register metrics here (e.g. the gateway's registry). */
  registry?: Registry;
  /** Replace the sinks built from config (tests). */
  sinks?: AlertSink[];
  /** Clock for lag metrics, rate limits and retries. */
  now?: () => number;
}

export interface Monitor {
  readonly bus: EventBus;
  readonly metrics: MonitorMetrics;
  readonly detectors: readonly Detector[];
  /** Publishes events (never blocks). */
  publish(...events: RampartEvent[]): void;
  /** Waits until every published event has been evaluated and its alerts stored. */
  flush(): Promise<void>;
  /** Runs one outbox delivery pass now. */
  deliver(): Promise<void>;
  close(): Promise<void>;
}

export function createMonitor(o: MonitorOptions): Monitor {
  const log = o.logger.child({ component: 'monitor' });
  const now = o.now ?? Date.now;
  const alerts = o.store.alerts;
  if (!alerts) throw new MonitorStoreUnsupportedError(`the ${o.store.kind} store does not hold alerts`);
  const metrics = createMonitorMetrics(o.registry);
  const bus = new EventBus({ capacity: o.config.events.queueCapacity, logger: log, onDrop: (n) => metrics.eventsDropped.inc(n) });
  const detectors: Detector[] = [...createDetectors(o.config.detectors), ...o.config.rules.map((r) => new RuleDetector(r))];
  const sinks = o.sinks ?? o.config.sinks.map((s) => createSink(s));
  const minSeverity = new Map(o.config.sinks.map((s) => [s.name, s.minSeverity] as const));
  const manager = new AlertManager({
    store: alerts,
    sinks: sinks.map((s) => ({ name: s.name, minSeverity: minSeverity.get(s.name) ?? 'info' })),
    maxNotificationsPerMinute: o.config.alerts.maxNotificationsPerMinute,
    renotifyAfterMs: o.config.alerts.renotifyAfter,
    logger: log,
    metrics,
    now,
  });
  const dispatcher = new OutboxDispatcher({
    store: alerts,
    sinks,
    logger: log,
    metrics,
    initialBackoffMs: o.config.delivery.initialBackoff,
    maxBackoffMs: o.config.delivery.maxBackoff,
    pollIntervalMs: o.config.delivery.pollInterval,
    now,
  });
  let persister: EventPersister | null = null;
  if (o.config.events.persist && o.store.events) persister = persistEvents(bus, o.store.events, { retentionMs: o.config.events.retention, logger: log, now });

  bus.subscribe('detectors', async (events) => {
    const found: Detection[] = [];
    const t = now();
    for (const e of events) {
      for (const d of detectors) {
        try {
          found.push(...d.observe(e));
        } catch (err) {
          log.error({ err, detector: d.id }, 'monitor: detector failed on an event');
        }
      }
    }
    const last = events[events.length - 1];
    if (last) for (const d of detectors) metrics.detectorLag.observe({ detector: d.id }, Math.max(0, (t - last.time) / 1000));
    for (const d of found) {
      try {
        await manager.handle(d);
      } catch (err) {
        log.error({ err, detector: d.detector }, 'monitor: could not store an alert');
      }
    }
    if (found.length) void dispatcher.runOnce();
  });
  // Windowed detectors also close windows when no events arrive.
  const ticker = setInterval(() => {
    const found = detectors.flatMap((d) => d.tick(now()));
    for (const d of found) void manager.handle(d).catch((err: unknown) => log.error({ err }, 'monitor: could not store an alert'));
    if (found.length) void dispatcher.runOnce();
  }, 10_000);
  ticker.unref();
  dispatcher.start();

  return {
    bus,
    metrics,
    detectors,
    publish: (...events) => void bus.publish(...events),
    flush: () => bus.flush(),
    deliver: () => dispatcher.runOnce(),
    async close() {
      clearInterval(ticker);
      await bus.close();
      persister?.stop();
      await dispatcher.runOnce().catch(() => undefined);
      await dispatcher.stop();
      for (const s of sinks) await s.close?.().catch(() => undefined);
    },
  };
}
