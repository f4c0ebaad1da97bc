// The server-backed store for several gateway replicas: PostgreSQL holds keys, the audit chain
// and checkpoints; counters and guard state live in Redis when `redisUrl` is set (redis-counters.ts,
// redis-guard-state.ts, atomic Lua scripts) and otherwise in PostgreSQL (row-locked transactions,
// single-statement compare-and-set). Every replica sees the same
// keys, one audit chain and one set of quota counters.
import pg from 'pg';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { checkBucketArgs, checkWindowArgs, windowStart } from './counter-math.js';
import {
  StoreAuditConflictError,
  StoreDuplicateKeyError,
  StoreMigrationError,
  StoreOpenError,
  StoreUnavailableError,
} from './errors.js';
import type { OpenStoreOptions } from './index.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { openRedisCounters, type RedisCounterStore } from './redis-counters.js';
import { assertContinues } from './sqlite.js';
import { PgAlertStore, PgEventStore } from './postgres-monitoring.js';
import { PgDatasetRecordStore } from './postgres-datasets.js';
import { PgGuardStateStore } from './postgres-guard-state.js';
import { RedisGuardStateStore } from './redis-guard-state.js';
import type {
  AlertStore,
  ApiKeyRecord,
  AuditCheckpoint,
  AuditEntry,
  AuditStore,
  CounterStore,
  DatasetRecordStore,
  EventStore,
  GuardStateStore,
  KeyStore,
  Store,
  TakeResult,
} from './types.js';

type PgConfig = Extract<GatewayConfig['store'], { type: 'postgres' }>;

const UNIQUE_VIOLATION = '23505';

function isRampart(e: unknown): boolean {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_');
}

async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isRampart(e)) throw e;
    throw new StoreUnavailableError(`postgres: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Runs `fn` in a transaction on one pooled connection. */
async function tx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

/** Advisory lock ids, namespaced by schema so test schemas do not contend with each other. */
const LOCK_MIGRATE = 'rampart.migrate';
const LOCK_AUDIT = 'rampart.audit';
const lockSql = `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/' || $1))`;

export async function migratePostgres(pool: pg.Pool, logger: Logger): Promise<number> {
  const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
  await tx(pool, async (c) => {
    // Two replicas starting together: the second waits here, then finds nothing to do.
    await c.query(lockSql, [LOCK_MIGRATE]);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const { rows } = await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > latest) {
      throw new StoreMigrationError(`the database schema is version ${current}, newer than this Rampart knows (${latest}); upgrade Rampart`);
    }
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= current) continue;
      try {
        await c.query(m.sql);
      } catch (e) {
        throw new StoreMigrationError(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
      }
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      logger.info({ version: m.version, migration: m.name }, 'store: applied migration');
    }
  });
  return latest;
}

interface KeyRow {
  id: string;
  principal: string;
  kind: 'user' | 'service';
  roles: string[];
  secret_hash: string;
  description: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

function keyFromRow(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    principal: r.principal,
    kind: r.kind,
    roles: r.roles,
    secretHash: r.secret_hash,
    description: r.description,
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
  };
}

class PgKeyStore implements KeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertApiKey(rec: ApiKeyRecord): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO api_keys (id, principal, kind, roles, secret_hash, description, created_at, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [rec.id, rec.principal, rec.kind, JSON.stringify(rec.roles), rec.secretHash, rec.description, rec.createdAt, rec.expiresAt, rec.revokedAt],
      );
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new StoreDuplicateKeyError(`an API key with id ${rec.id} already exists`, { cause: e });
      }
      throw new StoreUnavailableError(`postgres: insert key failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await guard('get key', () => this.pool.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]));
    return rows[0] ? keyFromRow(rows[0]) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const { rows } = await guard('list keys', () => this.pool.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'));
    return rows.map(keyFromRow);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const r = await guard('revoke key', () => this.pool.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]));
    return r.rowCount === 1;
  }
}

interface AuditRow {
  seq: string;
  time: string;
  prev_hash: string;
  hash: string;
  body: string;
}

const auditFromRow = (r: AuditRow): AuditEntry => ({ seq: Number(r.seq), time: Number(r.time), prevHash: r.prev_hash, hash: r.hash, body: r.body });

class PgAuditStore implements AuditStore {
  constructor(private readonly pool: pg.Pool) {}

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await tx(this.pool, async (c) => {
        // Appenders queue on this lock instead of racing to a unique violation.
        await c.query(lockSql, [LOCK_AUDIT]);
        const { rows } = await c.query<{ seq: string | null }>('SELECT MAX(seq) AS seq FROM audit');
        assertContinues(Number(rows[0]?.seq ?? 0), entries);
        await c.query(
          `INSERT INTO audit (seq, time, prev_hash, hash, body)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])`,
          [entries.map((e) => e.seq), entries.map((e) => e.time), entries.map((e) => e.prevHash), entries.map((e) => e.hash), entries.map((e) => e.body)],
        );
      });
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new StoreAuditConflictError('audit append raced another writer', { cause: e });
      }
      if (isRampart(e)) throw e;
      throw new StoreUnavailableError(`postgres: append audit failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async lastAudit(): Promise<AuditEntry | null> {
    const { rows } = await guard('read audit head', () => this.pool.query<AuditRow>('SELECT * FROM audit ORDER BY seq DESC LIMIT 1'));
    return rows[0] ? auditFromRow(rows[0]) : null;
  }

  async readAudit(fromSeq: number, limit: number): Promise<AuditEntry[]> {
    const { rows } = await guard('read audit', () =>
      this.pool.query<AuditRow>('SELECT * FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2', [fromSeq, limit]),
    );
    return rows.map(auditFromRow);
  }

  async saveCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await guard('save checkpoint', () =>
      this.pool.query('INSERT INTO audit_checkpoints (seq, hash, time) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING', [cp.seq, cp.hash, cp.time]),
    );
  }

  async listCheckpoints(): Promise<AuditCheckpoint[]> {
    const { rows } = await guard('list checkpoints', () =>
      this.pool.query<{ seq: string; hash: string; time: string }>('SELECT seq, hash, time FROM audit_checkpoints ORDER BY seq'),
    );
    return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, time: Number(r.time) }));
  }
}

class PgCounterStore implements CounterStore {
  constructor(private readonly pool: pg.Pool) {}

  async takeTokens(key: string, capacity: number, refillPerMs: number, cost: number, now: number): Promise<TakeResult> {
    checkBucketArgs(key, capacity, refillPerMs, cost, now);
    const { rows } = await guard('take tokens', () =>
      this.pool.query<{ allowed: boolean; remaining: number; retry_after_ms: number }>(
        'SELECT allowed, remaining, retry_after_ms FROM rampart_take_tokens($1, $2, $3, $4, $5)',
        [key, capacity, refillPerMs, cost, now],
      ),
    );
    const r = rows[0]!;
    return { allowed: r.allowed, remaining: r.remaining, retryAfterMs: r.retry_after_ms };
  }

  async addToWindow(key: string, windowMs: number, amount: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now, amount);
    const start = windowStart(windowMs, now);
    const { rows } = await guard('add to window', () =>
      this.pool.query<{ total: number }>(
        `INSERT INTO counter_windows AS w (key, window_ms, window_start, total) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key, window_ms, window_start) DO UPDATE SET total = w.total + excluded.total RETURNING total`,
        [key, windowMs, start, amount],
      ),
    );
    // Old windows are garbage; removing them is not part of the atomic add.
    await guard('prune windows', () =>
      this.pool.query('DELETE FROM counter_windows WHERE key = $1 AND window_ms = $2 AND window_start < $3', [key, windowMs, start]),
    );
    return rows[0]!.total;
  }

  async getWindow(key: string, windowMs: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now);
    const { rows } = await guard('read window', () =>
      this.pool.query<{ total: number }>('SELECT total FROM counter_windows WHERE key = $1 AND window_ms = $2 AND window_start = $3', [
        key,
        windowMs,
        windowStart(windowMs, now),
      ]),
    );
    return rows[0]?.total ?? 0;
  }
}

export class PostgresStore implements Store {
  readonly kind: string;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly counters: CounterStore;
  readonly events: EventStore;
  readonly alerts: AlertStore;
  readonly datasets: DatasetRecordStore;
  readonly guardState: GuardStateStore;
  private closed = false;

  constructor(
    /** The pool, for tests and maintenance commands only. */
    readonly pool: pg.Pool,
    private readonly redis: RedisCounterStore | null,
  ) {
    this.kind = redis ? 'postgres+redis' : 'postgres';
    this.keys = new PgKeyStore(pool);
    this.audit = new PgAuditStore(pool);
    this.counters = redis ?? new PgCounterStore(pool);
    this.events = new PgEventStore(pool);
    this.alerts = new PgAlertStore(pool);
    this.datasets = new PgDatasetRecordStore(pool);
    this.guardState = redis ? new RedisGuardStateStore(redis.client, redis.prefix) : new PgGuardStateStore(pool);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.pool.end(), this.redis?.close()]);
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Connects, (optionally) creates the schema, migrates, and connects Redis when configured. */
export async function openPostgresStore(cfg: PgConfig, logger: Logger, opts: OpenStoreOptions = {}): Promise<PostgresStore> {
  if (opts.pgSchema !== undefined && !SCHEMA_NAME.test(opts.pgSchema)) {
    throw new StoreOpenError(`invalid PostgreSQL schema name ${JSON.stringify(opts.pgSchema)}`);
  }
  const pool = new pg.Pool({
    connectionString: cfg.url,
    max: 10,
    connectionTimeoutMillis: 5000,
    ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'store: idle PostgreSQL connection failed'));
  try {
    if (opts.pgSchema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.pgSchema}`);
    else await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    // The URL may hold a password: report the host only.
    throw new StoreOpenError(`cannot connect to PostgreSQL at ${safeUrl(cfg.url)}: ${(e as Error).message}`, { cause: e });
  }
  let redis: RedisCounterStore | null = null;
  try {
    await migratePostgres(pool, logger);
    if (cfg.redisUrl) redis = await openRedisCounters(cfg.redisUrl, logger, opts.redisPrefix ?? 'rampart:');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PostgresStore(pool, redis);
}

/** host:port/db of a connection URL, without credentials. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
