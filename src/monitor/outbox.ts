// Delivers the alert outbox: for each sink, takes due deliveries from the store, sends them, and
// marks each delivered or schedules a retry with exponential backoff. Because deliveries live in
// the store, a sink outage or a restart loses nothing; a delivery whose success was not recorded
// (crash between send and mark) is sent again with the same delivery id, which receivers dedup.
import type { Logger } from '../core/logger.js';
import type { AlertStore } from '../store/types.js';
import type { AlertNotification } from './alerts.js';
import type { MonitorMetrics } from './metrics.js';
import type { AlertSink } from './sinks/types.js';

export interface DispatcherOptions {
  store: AlertStore;
  sinks: AlertSink[];
  logger: Logger;
  metrics?: MonitorMetrics;
  initialBackoffMs: number;
  maxBackoffMs: number;
  pollIntervalMs: number;
  now?: () => number;
}

export class OutboxDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: DispatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.o.pollIntervalMs);
    this.timer.unref();
  }

  /** One pass over every sink's due deliveries (serialised with the timer). */
  runOnce(): Promise<void> {
    if (!this.running) this.running = this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<void> {
    for (const sink of this.o.sinks) {
      if (this.stopped) return;
      let due;
      try {
        due = await this.o.store.dueDeliveries(sink.name, this.now(), 100);
      } catch (err) {
        this.o.logger.error({ err }, 'monitor: cannot read the alert outbox');
        return;
      }
      for (const d of due) {
        if (this.stopped) return;
        try {
          await sink.send(JSON.parse(d.payload) as AlertNotification, d.payload);
          await this.o.store.markDelivered(d.id, this.now());
          this.o.metrics?.deliveries.inc({ sink: sink.name });
        } catch (err) {
          const attempts = d.attempts + 1;
          const backoff = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** Math.min(30, attempts - 1));
          // Jitter (±20 %) so many gateways do not retry a recovering receiver in lockstep.
          const next = this.now() + Math.round(backoff * (0.8 + 0.4 * Math.random()));
          this.o.metrics?.deliveryFailures.inc({ sink: sink.name });
          this.o.logger.warn({ sink: sink.name, deliveryId: d.id, attempts, code: (err as { code?: string }).code }, 'monitor: alert delivery failed; will retry');
          await this.o.store.markDeliveryFailed(d.id, attempts, next, (err as Error).message).catch(() => undefined);
          // Stop this sink's pass: later deliveries would most likely fail the same way.
          break;
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
