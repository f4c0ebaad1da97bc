// Alerts: detections become stored alerts (one per dedup key while not resolved; repeats fold into
// it), new alerts and escalations are queued in the outbox for every sink (subject to the rate
// limit), and people move alerts open → acknowledged → resolved, recording who and when.
import { randomUUID } from 'node:crypto';
import { severityRank, type Severity } from '../core/types.js';
import type { Logger } from '../core/logger.js';
import type { AlertRecord, AlertStatus, AlertStore } from '../store/types.js';
import type { Detection } from './detectors/types.js';
import { AlertNotFoundError, AlertTransitionError } from './errors.js';
import type { MonitorMetrics } from './metrics.js';

export const ALERT_SCHEMA = 'rampart.alert/v1';

/** The JSON body every sink receives (Slack and syslog render it differently). */
export interface AlertNotification {
  schema: typeof ALERT_SCHEMA;
  /** Idempotency id of this notification (same on every retry). */
  deliveryId: string;
  /** `opened` for a new alert, `escalated` when its severity rose, `repeated` after renotifyAfter. */
  reason: 'opened' | 'escalated' | 'repeated';
  alert: Omit<AlertRecord, 'details'> & { details: Record<string, unknown> };
}

export interface SinkTarget {
  name: string;
  minSeverity: Severity;
}

export interface AlertManagerOptions {
  store: AlertStore;
  sinks: SinkTarget[];
  maxNotificationsPerMinute: number;
  renotifyAfterMs: number;
  logger: Logger;
  metrics?: MonitorMetrics;
  now?: () => number;
}

export class AlertManager {
  private tokens: number;
  private lastRefill: number;
  private readonly now: () => number;
  // Serialises alert writes so two detections of one key cannot both open an alert.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: AlertManagerOptions) {
    this.now = o.now ?? Date.now;
    this.tokens = o.maxNotificationsPerMinute;
    this.lastRefill = this.now();
  }

  /** Records a detection; returns the alert it opened or updated. */
  handle(d: Detection): Promise<AlertRecord> {
    const run = this.chain.then(() => this.apply(d));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async apply(d: Detection): Promise<AlertRecord> {
    this.o.metrics?.alerts.inc({ detector: d.detector, severity: d.severity });
    const details = JSON.stringify({ ...d.details, subject: d.subject });
    const active = await this.o.store.findActiveAlert(d.dedupKey);
    if (active) {
      const rose = severityRank(d.severity) > severityRank(active.severity as Severity);
      const severity = rose ? d.severity : (active.severity as Severity);
      await this.o.store.touchAlert(active.id, d.time, severity, details);
      const updated = { ...active, count: active.count + 1, lastSeen: Math.max(active.lastSeen, d.time), severity, details };
      if (rose) await this.notify(updated, 'escalated');
      else if (active.status === 'open' && d.time - active.lastSeen >= this.o.renotifyAfterMs) await this.notify(updated, 'repeated');
      return updated;
    }
    const a: AlertRecord = {
      id: randomUUID(),
      dedupKey: d.dedupKey,
      detector: d.detector,
      severity: d.severity,
      status: 'open',
      title: d.title.slice(0, 500),
      details,
      firstSeen: d.time,
      lastSeen: d.time,
      count: 1,
      ackedBy: null,
      ackedAt: null,
      resolvedBy: null,
      resolvedAt: null,
    };
    await this.o.store.insertAlert(a);
    this.o.logger.warn({ alertId: a.id, detector: a.detector, severity: a.severity }, `alert: ${a.title}`);
    await this.notify(a, 'opened');
    return a;
  }

  private takeToken(): boolean {
    const now = this.now();
    const rate = this.o.maxNotificationsPerMinute / 60_000;
    this.tokens = Math.min(this.o.maxNotificationsPerMinute, this.tokens + (now - this.lastRefill) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async notify(a: AlertRecord, reason: AlertNotification['reason']): Promise<void> {
    const targets = this.o.sinks.filter((s) => severityRank(a.severity as Severity) >= severityRank(s.minSeverity));
    if (targets.length === 0) return;
    if (!this.takeToken()) {
      this.o.metrics?.notificationsSuppressed.inc();
      this.o.logger.warn({ alertId: a.id }, 'alert: notification rate limit reached; alert stored but not notified');
      return;
    }
    const at = this.now();
    const tag = reason === 'opened' ? 'opened' : `${reason}-${a.count}`;
    await this.o.store.enqueueDeliveries(
      targets.map((s) => {
        const deliveryId = `${a.id}:${tag}:${s.name}`;
        const body: AlertNotification = { schema: ALERT_SCHEMA, deliveryId, reason, alert: { ...a, details: JSON.parse(a.details) as Record<string, unknown> } };
        return { id: deliveryId, alertId: a.id, sink: s.name, payload: JSON.stringify(body), createdAt: at, attempts: 0, nextAttemptAt: at, deliveredAt: null, lastError: null };
      }),
    );
  }
}

/**
 * Acknowledges or resolves an alert, recording who and when. Throws RAMPART_ERR_MONITOR_ALERT_NOT_FOUND
 * for an unknown id and RAMPART_ERR_MONITOR_ALERT_TRANSITION when the move is not allowed.
 */
export async function transitionAlert(store: AlertStore, id: string, to: 'acknowledged' | 'resolved', by: string, at = Date.now()): Promise<AlertRecord> {
  const updated = await store.transitionAlert(id, to, by, at);
  if (updated) return updated;
  const current = await store.getAlert(id);
  if (!current) throw new AlertNotFoundError(`no alert with id ${id}`);
  throw new AlertTransitionError(`alert ${id} is ${current.status}; it cannot become ${to}`, { details: { status: current.status } });
}

export async function listAlerts(store: AlertStore, status: AlertStatus | undefined, limit = 100): Promise<AlertRecord[]> {
  return store.listAlerts({ status, limit });
}
