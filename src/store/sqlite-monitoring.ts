// SQLite implementations of the monitoring stores (events, alerts, alert outbox; migration 2).
// Kept apart from sqlite.ts so the monitor's tables can evolve without touching the core store.
import type Database from 'better-sqlite3';
import { StoreDuplicateKeyError, StoreUnavailableError } from './errors.js';
import type { AlertDelivery, AlertRecord, AlertStatus, AlertStore, EventQuery, EventStore, StoredEvent } from './types.js';

type Db = Database.Database;

function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_')) throw e;
    throw new StoreUnavailableError(`sqlite: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

interface AlertRow {
  id: string;
  dedup_key: string;
  detector: string;
  severity: string;
  status: AlertStatus;
  title: string;
  details: string;
  first_seen: number;
  last_seen: number;
  count: number;
  acked_by: string | null;
  acked_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
}

export function alertFromRow(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    dedupKey: r.dedup_key,
    detector: r.detector,
    severity: r.severity,
    status: r.status,
    title: r.title,
    details: r.details,
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    count: Number(r.count),
    ackedBy: r.acked_by,
    ackedAt: r.acked_at === null ? null : Number(r.acked_at),
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
  };
}

interface DeliveryRow {
  id: string;
  alert_id: string;
  sink: string;
  payload: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

export function deliveryFromRow(r: DeliveryRow): AlertDelivery {
  return {
    id: r.id,
    alertId: r.alert_id,
    sink: r.sink,
    payload: r.payload,
    createdAt: Number(r.created_at),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
    lastError: r.last_error,
  };
}

export class SqliteEventStore implements EventStore {
  private readonly insert;
  private readonly prune;
  private readonly appendTx;

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT INTO events (id, time, type, principal, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING');
    this.prune = db.prepare('DELETE FROM events WHERE time < ?');
    this.appendTx = db.transaction((events: StoredEvent[]) => {
      for (const e of events) this.insert.run(e.id, e.time, e.type, e.principal, e.body);
    });
  }

  async appendEvents(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    guard('append events', () => this.appendTx.immediate(events));
  }

  async readEvents(q: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.fromTime !== undefined) {
      where.push('time >= ?');
      args.push(q.fromTime);
    }
    if (q.toTime !== undefined) {
      where.push('time < ?');
      args.push(q.toTime);
    }
    if (q.type !== undefined) {
      where.push('type = ?');
      args.push(q.type);
    }
    if (q.principal !== undefined) {
      where.push('principal = ?');
      args.push(q.principal);
    }
    const sql = `SELECT id, time, type, principal, body FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time, id LIMIT ?`;
    args.push(Math.max(0, Math.floor(q.limit)));
    return guard('read events', () => this.db.prepare(sql).all(...args) as StoredEvent[]);
  }

  async pruneEvents(before: number): Promise<number> {
    return guard('prune events', () => this.prune.run(before).changes);
  }
}

export class SqliteAlertStore implements AlertStore {
  private readonly insert;
  private readonly get;
  private readonly active;
  private readonly touch;
  private readonly ack;
  private readonly resolve;
  private readonly enqueue;
  private readonly due;
  private readonly delivered;
  private readonly failed;
  private readonly pruneD;
  private readonly enqueueTx;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO alerts (id, dedup_key, detector, severity, status, title, details, first_seen, last_seen, count, acked_by, acked_at, resolved_by, resolved_at)
       VALUES (@id, @dedupKey, @detector, @severity, @status, @title, @details, @firstSeen, @lastSeen, @count, @ackedBy, @ackedAt, @resolvedBy, @resolvedAt)`,
    );
    this.get = db.prepare('SELECT * FROM alerts WHERE id = ?');
    this.active = db.prepare("SELECT * FROM alerts WHERE dedup_key = ? AND status != 'resolved' ORDER BY first_seen DESC, id DESC LIMIT 1");
    this.touch = db.prepare('UPDATE alerts SET count = count + 1, last_seen = MAX(last_seen, ?), severity = ?, details = ? WHERE id = ?');
    this.ack = db.prepare("UPDATE alerts SET status = 'acknowledged', acked_by = ?, acked_at = ? WHERE id = ? AND status = 'open'");
    this.resolve = db.prepare("UPDATE alerts SET status = 'resolved', resolved_by = ?, resolved_at = ? WHERE id = ? AND status != 'resolved'");
    this.enqueue = db.prepare(
      `INSERT INTO alert_outbox (id, alert_id, sink, payload, created_at, attempts, next_attempt_at, delivered_at, last_error)
       VALUES (@id, @alertId, @sink, @payload, @createdAt, @attempts, @nextAttemptAt, @deliveredAt, @lastError) ON CONFLICT (id) DO NOTHING`,
    );
    this.due = db.prepare('SELECT * FROM alert_outbox WHERE sink = ? AND delivered_at IS NULL AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?');
    this.delivered = db.prepare('UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?');
    this.failed = db.prepare('UPDATE alert_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL');
    this.pruneD = db.prepare('DELETE FROM alert_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?');
    this.enqueueTx = db.transaction((ds: AlertDelivery[]) => {
      for (const d of ds) this.enqueue.run(d);
    });
  }

  async insertAlert(a: AlertRecord): Promise<void> {
    try {
      this.insert.run(a);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new StoreDuplicateKeyError(`an alert with id ${a.id} already exists`, { cause: e });
      }
      throw new StoreUnavailableError(`sqlite: insert alert failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    const r = guard('get alert', () => this.get.get(id) as AlertRow | undefined);
    return r ? alertFromRow(r) : null;
  }

  async findActiveAlert(dedupKey: string): Promise<AlertRecord | null> {
    const r = guard('find alert', () => this.active.get(dedupKey) as AlertRow | undefined);
    return r ? alertFromRow(r) : null;
  }

  async touchAlert(id: string, lastSeen: number, severity: string, details: string): Promise<void> {
    guard('touch alert', () => this.touch.run(lastSeen, severity, details, id));
  }

  async transitionAlert(id: string, to: 'acknowledged' | 'resolved', by: string, at: number): Promise<AlertRecord | null> {
    const changed = guard('update alert', () => (to === 'acknowledged' ? this.ack : this.resolve).run(by, at, id).changes);
    if (changed !== 1) return null;
    return this.getAlert(id);
  }

  async listAlerts(q: { status?: AlertStatus; limit: number }): Promise<AlertRecord[]> {
    const lim = Math.max(0, Math.floor(q.limit));
    return guard('list alerts', () =>
      (q.status
        ? (this.db.prepare('SELECT * FROM alerts WHERE status = ? ORDER BY first_seen DESC, id DESC LIMIT ?').all(q.status, lim) as AlertRow[])
        : (this.db.prepare('SELECT * FROM alerts ORDER BY first_seen DESC, id DESC LIMIT ?').all(lim) as AlertRow[])
      ).map(alertFromRow),
    );
  }

  async enqueueDeliveries(d: AlertDelivery[]): Promise<void> {
    if (d.length === 0) return;
    guard('enqueue deliveries', () => this.enqueueTx.immediate(d));
  }

  async dueDeliveries(sink: string, now: number, limit: number): Promise<AlertDelivery[]> {
    return guard('read outbox', () => (this.due.all(sink, now, Math.max(0, Math.floor(limit))) as DeliveryRow[]).map(deliveryFromRow));
  }

  async markDelivered(id: string, at: number): Promise<void> {
    guard('mark delivered', () => this.delivered.run(at, id));
  }

  async markDeliveryFailed(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    guard('mark delivery failed', () => this.failed.run(attempts, nextAttemptAt, error.slice(0, 500), id));
  }

  async pruneDeliveries(before: number): Promise<number> {
    return guard('prune outbox', () => this.pruneD.run(before).changes);
  }
}
