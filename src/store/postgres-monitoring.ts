// PostgreSQL implementations of the monitoring stores (events, alerts, alert outbox; PostgreSQL
// migration 3), with the same behaviour as sqlite-monitoring.ts: the shared conformance suite runs
// its optional cases against both. Ids are ordered with COLLATE "C" to match SQLite's byte order.
import type pg from 'pg';
import { StoreDuplicateKeyError, StoreUnavailableError } from './errors.js';
import { alertFromRow, deliveryFromRow } from './sqlite-monitoring.js';
import type { AlertDelivery, AlertRecord, AlertStatus, AlertStore, EventQuery, EventStore, StoredEvent } from './types.js';

const UNIQUE_VIOLATION = '23505';

async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_')) throw e;
    throw new StoreUnavailableError(`postgres: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

const lim = (n: number) => Math.max(0, Math.floor(n));

type Row = Record<string, unknown>;

function eventFromRow(r: Row): StoredEvent {
  return { id: r.id as string, time: Number(r.time), type: r.type as string, principal: r.principal as string | null, body: r.body as string };
}

export class PgEventStore implements EventStore {
  constructor(private readonly pool: pg.Pool) {}

  async appendEvents(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    await guard('append events', () =>
      this.pool.query(
        `INSERT INTO events (id, time, type, principal, body)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) ON CONFLICT (id) DO NOTHING`,
        [events.map((e) => e.id), events.map((e) => e.time), events.map((e) => e.type), events.map((e) => e.principal), events.map((e) => e.body)],
      ),
    );
  }

  async readEvents(q: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (sql: string, v: string | number) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.fromTime !== undefined) add('time >= ?', q.fromTime);
    if (q.toTime !== undefined) add('time < ?', q.toTime);
    if (q.type !== undefined) add('type = ?', q.type);
    if (q.principal !== undefined) add('principal = ?', q.principal);
    args.push(lim(q.limit));
    const sql = `SELECT id, time, type, principal, body FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY time, id COLLATE "C" LIMIT $${args.length}`;
    const { rows } = await guard('read events', () => this.pool.query<Row>(sql, args));
    return rows.map(eventFromRow);
  }

  async pruneEvents(before: number): Promise<number> {
    const r = await guard('prune events', () => this.pool.query('DELETE FROM events WHERE time < $1', [before]));
    return r.rowCount ?? 0;
  }
}

export class PgAlertStore implements AlertStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertAlert(a: AlertRecord): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO alerts (id, dedup_key, detector, severity, status, title, details, first_seen, last_seen, count, acked_by, acked_at, resolved_by, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [a.id, a.dedupKey, a.detector, a.severity, a.status, a.title, a.details, a.firstSeen, a.lastSeen, a.count, a.ackedBy, a.ackedAt, a.resolvedBy, a.resolvedAt],
      );
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new StoreDuplicateKeyError(`an alert with id ${a.id} already exists`, { cause: e });
      throw new StoreUnavailableError(`postgres: insert alert failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    const { rows } = await guard('get alert', () => this.pool.query('SELECT * FROM alerts WHERE id = $1', [id]));
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  async findActiveAlert(dedupKey: string): Promise<AlertRecord | null> {
    const { rows } = await guard('find alert', () =>
      this.pool.query(`SELECT * FROM alerts WHERE dedup_key = $1 AND status != 'resolved' ORDER BY first_seen DESC, id COLLATE "C" DESC LIMIT 1`, [dedupKey]),
    );
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  async touchAlert(id: string, lastSeen: number, severity: string, details: string): Promise<void> {
    await guard('touch alert', () =>
      this.pool.query('UPDATE alerts SET count = count + 1, last_seen = GREATEST(last_seen, $1), severity = $2, details = $3 WHERE id = $4', [
        lastSeen,
        severity,
        details,
        id,
      ]),
    );
  }

  async transitionAlert(id: string, to: 'acknowledged' | 'resolved', by: string, at: number): Promise<AlertRecord | null> {
    const sql =
      to === 'acknowledged'
        ? "UPDATE alerts SET status = 'acknowledged', acked_by = $1, acked_at = $2 WHERE id = $3 AND status = 'open' RETURNING *"
        : "UPDATE alerts SET status = 'resolved', resolved_by = $1, resolved_at = $2 WHERE id = $3 AND status != 'resolved' RETURNING *";
    const { rows } = await guard('update alert', () => this.pool.query(sql, [by, at, id]));
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  async listAlerts(q: { status?: AlertStatus; limit: number }): Promise<AlertRecord[]> {
    const { rows } = await guard('list alerts', () =>
      q.status
        ? this.pool.query('SELECT * FROM alerts WHERE status = $1 ORDER BY first_seen DESC, id COLLATE "C" DESC LIMIT $2', [q.status, lim(q.limit)])
        : this.pool.query('SELECT * FROM alerts ORDER BY first_seen DESC, id COLLATE "C" DESC LIMIT $1', [lim(q.limit)]),
    );
    return rows.map(alertFromRow);
  }

  async enqueueDeliveries(d: AlertDelivery[]): Promise<void> {
    if (d.length === 0) return;
    await guard('enqueue deliveries', () =>
      this.pool.query(
        `INSERT INTO alert_outbox (id, alert_id, sink, payload, created_at, attempts, next_attempt_at, delivered_at, last_error)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::bigint[], $8::bigint[], $9::text[])
         ON CONFLICT (id) DO NOTHING`,
        [
          d.map((x) => x.id),
          d.map((x) => x.alertId),
          d.map((x) => x.sink),
          d.map((x) => x.payload),
          d.map((x) => x.createdAt),
          d.map((x) => x.attempts),
          d.map((x) => x.nextAttemptAt),
          d.map((x) => x.deliveredAt),
          d.map((x) => x.lastError),
        ],
      ),
    );
  }

  async dueDeliveries(sink: string, now: number, limit: number): Promise<AlertDelivery[]> {
    const { rows } = await guard('read outbox', () =>
      this.pool.query(
        'SELECT * FROM alert_outbox WHERE sink = $1 AND delivered_at IS NULL AND next_attempt_at <= $2 ORDER BY created_at, id COLLATE "C" LIMIT $3',
        [sink, now, lim(limit)],
      ),
    );
    return rows.map(deliveryFromRow);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    await guard('mark delivered', () =>
      this.pool.query('UPDATE alert_outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2', [at, id]),
    );
  }

  async markDeliveryFailed(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await guard('mark failed', () =>
      this.pool.query('UPDATE alert_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4 AND delivered_at IS NULL', [
        attempts,
        nextAttemptAt,
        error.slice(0, 500),
        id,
      ]),
    );
  }

  async pruneDeliveries(before: number): Promise<number> {
    const r = await guard('prune outbox', () => this.pool.query('DELETE FROM alert_outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1', [before]));
    return r.rowCount ?? 0;
  }
}
