// The monitor runtime: the event bus, the detectors and user rules subscribed to it, the alert
// manager that stores alerts, and the outbox dispatcher that delivers notifications to the sinks.
// Nothing here is on the request path: the gateway only publishes to the bus.
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { EventBus } from '../events/bus.js';
import { persistEvents, type EventPersister } from '../events/persist.js';
import { isEvent, type RampartEvent } from '../events/schema.js';
import type { EventStore, Store } from '../store/types.js';
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
  /** Resolves when the detectors have replayed the stored history (events.warmup). */
  readonly ready: Promise<void>;
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

  // Detectors learn from the stored history first; live events wait on the bus meanwhile.
  const warm: Promise<void> =
    o.config.events.warmup > 0 && o.store.events
      ? replayHistory(o.store.events, detectors, now() - o.config.events.warmup, now(), o.config.events.warmupMaxEvents)
          .then((n) => {
            metrics.warmupEvents.set(n);
            if (n >= o.config.events.warmupMaxEvents) log.warn({ events: n }, 'monitor: warm-up stopped at events.warmupMaxEvents; the latest history was not replayed (shorten events.warmup)');
            else if (n) log.info({ events: n }, 'monitor: detectors warmed up from stored events');
          })
          .catch((err: unknown) => log.warn({ err }, 'monitor: could not replay stored events; detectors start cold'))
      : Promise.resolve();

  bus.subscribe('detectors', async (events) => {
    await warm;
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
  // Events other processes stored (CLI scans, key operations) join the live stream.
  const importer = o.config.events.importInterval > 0 && o.store.events ? new ForeignEventImporter(o.store.events, now()) : null;
  let importing = false;
  const importTimer = importer
    ? setInterval(() => {
        if (importing) return;
        importing = true;
        importer
          .poll(now())
          .then((evs) => {
            if (evs.length) bus.publish(...evs);
          })
          .catch((err: unknown) => log.warn({ err }, 'monitor: could not read events stored by other processes'))
          .finally(() => (importing = false));
      }, o.config.events.importInterval)
    : null;
  importTimer?.unref();
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
    ready: warm,
    publish: (...events) => void bus.publish(...events),
    flush: () => bus.flush(),
    deliver: () => dispatcher.runOnce(),
    async close() {
      clearInterval(ticker);
      if (importTimer) clearInterval(importTimer);
      await bus.close();
      persister?.stop();
      await dispatcher.runOnce().catch(() => undefined);
      await dispatcher.stop();
      for (const s of sinks) await s.close?.().catch(() => undefined);
    },
  };
}

/**
 * Feeds stored events of [from, to) through the detectors in time order, page by page (constant
 * memory), discarding what they detect (those alerts were raised, or not, when the events were
 * live). Stops after `max` events. Returns the number replayed.
 */
export async function replayHistory(events: EventStore, detectors: readonly Detector[], from: number, to: number, max: number): Promise<number> {
  const PAGE = 5000;
  let cursor = from;
  // Events sharing the page-boundary time are told apart by id.
  let seenAtCursor = new Set<string>();
  let n = 0;
  while (n < max && cursor < to) {
    const page = await events.readEvents({ fromTime: cursor, toTime: to, limit: PAGE });
    const fresh = page.filter((e) => e.time > cursor || !seenAtCursor.has(e.id));
    if (fresh.length === 0) break;
    for (const s of fresh) {
      if (n >= max) break;
      let e: unknown;
      try {
        e = JSON.parse(s.body);
      } catch {
        continue;
      }
      if (!isEvent(e)) continue;
      for (const d of detectors) {
        try {
          d.observe(e);
        } catch {
          // A detector failing on one old event must not stop the others from warming up.
        }
      }
      n++;
    }
    const last = fresh[fresh.length - 1]!.time;
    if (last !== cursor) seenAtCursor = new Set();
    for (const e of fresh) if (e.time === last) seenAtCursor.add(e.id);
    cursor = last;
    if (page.length < PAGE) break;
  }
  return n;
}

/**
 * Whether the gateway publishes events of this source on its bus itself (its requests and guard
 * verdicts, `gateway`; its ingestion route, `dataset:NAME`): those were seen live and must not be
 * fed to the detectors a second time. Everything else in the store came from elsewhere.
 */
function isLiveSource(source: string): boolean {
  return source === 'gateway' || source.startsWith('dataset:');
}

/** Event types that processes without a bus (CLI commands) write to the store. */
export const IMPORTED_EVENT_TYPES = ['scan.result', 'key.operation'] as const;

/**
 * Reads the events that other processes (CLI commands) stored since the last poll, so the
 * detectors and rules see them too. Only the types such processes write are read (never the
 * gateway's own traffic, which is on this bus already), and each poll looks back `lookbackMs`
 * before the previous one so that an event stored late (a slow CLI writer) is still taken; ids
 * already taken are remembered for that long, so each event is imported once.
 */
export class ForeignEventImporter {
  private readonly taken = new Map<string, number>();
  constructor(
    private readonly events: EventStore,
    private cursor: number,
    private readonly lookbackMs = 60_000,
  ) {}

  async poll(until: number, limit = 1000): Promise<RampartEvent[]> {
    const from = this.cursor - this.lookbackMs;
    const out: RampartEvent[] = [];
    for (const type of IMPORTED_EVENT_TYPES) {
      const rows = await this.events.readEvents({ type, fromTime: from, toTime: until + 1, limit });
      for (const r of rows) {
        if (this.taken.has(r.id)) continue;
        this.taken.set(r.id, r.time);
        let e: unknown;
        try {
          e = JSON.parse(r.body);
        } catch {
          continue;
        }
        if (isEvent(e) && !isLiveSource(e.source)) out.push(e);
      }
    }
    this.cursor = until;
    for (const [id, t] of this.taken) if (t < until - 2 * this.lookbackMs) this.taken.delete(id);
    return out.sort((a, b) => a.time - b.time);
  }
}
