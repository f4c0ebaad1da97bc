// The embedded store: one SQLite file (better-sqlite3, WAL) holding keys, the audit chain and
// counters. No server process; several processes on one machine (the gateway and the CLI) may
// open the same file, which is why writes that read-then-write use IMMEDIATE transactions.
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from '../core/logger.js';
import { bucketStep, checkBucketArgs, checkWindowArgs, windowStart } from './counter-math.js';
import { StoreAuditConflictError, StoreDuplicateKeyError, StoreMigrationError, StoreOpenError, StoreUnavailableError } from './errors.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { SqliteAlertStore, SqliteEventStore } from './sqlite-monitoring.js';
import { SqliteDatasetRecordStore } from './sqlite-datasets.js';
import { SqliteGuardStateStore } from './sqlite-guard-state.js';
import type {
  ApiKeyRecord,
  AuditCheckpoint,
  AuditEntry,
  AlertStore,
  AuditStore,
  CounterStore,
  DatasetRecordStore,
  EventStore,
  GuardStateStore,
  KeyStore,
  Store,
  TakeResult,
} from './types.js';

type Db = Database.Database;

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for a private in-memory database (tests). */
  path: string;
  /** How long a write waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

interface KeyRow {
  id: string;
  principal: string;
  kind: 'user' | 'service';
  roles: string;
  secret_hash: string;
  description: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

interface AuditRow {
  seq: number;
  time: number;
  prev_hash: string;
  hash: string;
  body: string;
}

function keyFromRow(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    principal: r.principal,
    kind: r.kind,
    roles: JSON.parse(r.roles) as string[],
    secretHash: r.secret_hash,
    description: r.description,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

function auditFromRow(r: AuditRow): AuditEntry {
  return { seq: r.seq, time: r.time, prevHash: r.prev_hash, hash: r.hash, body: r.body };
}

/** Wraps a synchronous SQLite call so driver errors surface as coded store errors. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_')) throw e;
    throw new StoreUnavailableError(`sqlite: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Applies pending migrations in one transaction each; refuses a database from a newer version. */
export function migrateSqlite(db: Db, logger: Logger): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new StoreMigrationError(`the database schema is version ${current}, newer than this Rampart knows (${latest}); upgrade Rampart`);
  }
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= current) continue;
    const apply = db.transaction(() => {
      // Re-check inside the write lock: another process may have migrated meanwhile.
      const again = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
      if (again) return;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      logger.info({ version: m.version, migration: m.name }, 'store: applied migration');
    });
    try {
      apply.immediate();
    } catch (e) {
      throw new StoreMigrationError(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return latest;
}

class SqliteKeyStore implements KeyStore {
  private readonly insert;
  private readonly get;
  private readonly list;
  private readonly revoke;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO api_keys (id, principal, kind, roles, secret_hash, description, created_at, expires_at, revoked_at)
       VALUES (@id, @principal, @kind, @roles, @secretHash, @description, @createdAt, @expiresAt, @revokedAt)`,
    );
    this.get = db.prepare('SELECT * FROM api_keys WHERE id = ?');
    this.list = db.prepare('SELECT * FROM api_keys ORDER BY created_at, id');
    this.revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  async insertApiKey(rec: ApiKeyRecord): Promise<void> {
    try {
      this.insert.run({ ...rec, roles: JSON.stringify(rec.roles) });
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new StoreDuplicateKeyError(`an API key with id ${rec.id} already exists`, { cause: e });
      }
      throw new StoreUnavailableError(`sqlite: insert key failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const r = guard('get key', () => this.get.get(id) as KeyRow | undefined);
    return r ? keyFromRow(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return guard('list keys', () => (this.list.all() as KeyRow[]).map(keyFromRow));
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return guard('revoke key', () => this.revoke.run(at, id).changes === 1);
  }
}

/** Audit rows per multi-row INSERT (5 parameters each, far below SQLite's 32,766-parameter limit). */
const AUDIT_ROWS = 32;

class SqliteAuditStore implements AuditStore {
  private readonly last;
  private readonly read;
  private readonly insert;
  private readonly insertCp;
  private readonly listCp;
  private readonly appendTx;

  constructor(db: Db) {
    this.last = db.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1');
    this.read = db.prepare('SELECT * FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?');
    this.insert = db.prepare('INSERT INTO audit (seq, time, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?)');
    this.insertCp = db.prepare('INSERT INTO audit_checkpoints (seq, hash, time) VALUES (?, ?, ?) ON CONFLICT (seq) DO NOTHING');
    this.listCp = db.prepare('SELECT seq, hash, time FROM audit_checkpoints ORDER BY seq');
    // Rows go in AUDIT_ROWS at a time (one statement per chunk instead of one per row: the
    // per-call cost of a statement is most of a small row's insert).
    const insertMany = db.prepare(`INSERT INTO audit (seq, time, prev_hash, hash, body) VALUES ${Array(AUDIT_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`);
    const args: (string | number)[] = new Array(AUDIT_ROWS * 5);
    this.appendTx = db.transaction((entries: AuditEntry[]) => {
      const last = this.last.get() as AuditRow | undefined;
      assertContinues(last?.seq ?? 0, entries);
      let i = 0;
      for (; i + AUDIT_ROWS <= entries.length; i += AUDIT_ROWS) {
        for (let j = 0; j < AUDIT_ROWS; j++) {
          const e = entries[i + j]!;
          args[j * 5] = e.seq;
          args[j * 5 + 1] = e.time;
          args[j * 5 + 2] = e.prevHash;
          args[j * 5 + 3] = e.hash;
          args[j * 5 + 4] = e.body;
        }
        insertMany.run(args);
      }
      for (; i < entries.length; i++) {
        const e = entries[i]!;
        this.insert.run(e.seq, e.time, e.prevHash, e.hash, e.body);
      }
    });
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    guard('append audit', () => this.appendTx.immediate(entries));
  }

  async lastAudit(): Promise<AuditEntry | null> {
    const r = guard('read audit head', () => this.last.get() as AuditRow | undefined);
    return r ? auditFromRow(r) : null;
  }

  async readAudit(fromSeq: number, limit: number): Promise<AuditEntry[]> {
    return guard('read audit', () => (this.read.all(fromSeq, limit) as AuditRow[]).map(auditFromRow));
  }

  async saveCheckpoint(cp: AuditCheckpoint): Promise<void> {
    guard('save checkpoint', () => this.insertCp.run(cp.seq, cp.hash, cp.time));
  }

  async listCheckpoints(): Promise<AuditCheckpoint[]> {
    return guard('list checkpoints', () => this.listCp.all() as AuditCheckpoint[]);
  }
}

/**
 * The stored chain only ever grows by contiguous sequence numbers: the batch must start right
 * after the stored head. A writer that lost a race gets a conflict and re-reads the head.
 */
export function assertContinues(lastSeq: number, entries: AuditEntry[]): void {
  let expect = lastSeq + 1;
  for (const e of entries) {
    if (e.seq !== expect) {
      throw new StoreAuditConflictError(`audit append expected seq ${expect}, got ${e.seq}`, { details: { expected: expect, got: e.seq } });
    }
    expect++;
  }
}

class SqliteCounterStore implements CounterStore {
  private readonly getBucket;
  private readonly putBucket;
  private readonly addWin;
  private readonly getWin;
  private readonly pruneWin;
  private readonly takeTx;
  private readonly addTx;

  constructor(db: Db) {
    this.getBucket = db.prepare('SELECT tokens, updated_at FROM counter_buckets WHERE key = ?');
    this.putBucket = db.prepare(
      'INSERT INTO counter_buckets (key, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at',
    );
    this.addWin = db.prepare(
      `INSERT INTO counter_windows (key, window_ms, window_start, total) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_ms, window_start) DO UPDATE SET total = total + excluded.total RETURNING total`,
    );
    this.getWin = db.prepare('SELECT total FROM counter_windows WHERE key = ? AND window_ms = ? AND window_start = ?');
    this.pruneWin = db.prepare('DELETE FROM counter_windows WHERE key = ? AND window_ms = ? AND window_start < ?');
    this.takeTx = db.transaction((key: string, capacity: number, refillPerMs: number, cost: number, now: number): TakeResult => {
      const row = this.getBucket.get(key) as { tokens: number; updated_at: number } | undefined;
      const { next, result } = bucketStep(row ? { tokens: row.tokens, updatedAt: row.updated_at } : null, capacity, refillPerMs, cost, now);
      this.putBucket.run(key, next.tokens, next.updatedAt);
      return result;
    });
    this.addTx = db.transaction((key: string, windowMs: number, amount: number, now: number): number => {
      const start = windowStart(windowMs, now);
      const row = this.addWin.get(key, windowMs, start, amount) as { total: number };
      this.pruneWin.run(key, windowMs, start);
      return row.total;
    });
  }

  async takeTokens(key: string, capacity: number, refillPerMs: number, cost: number, now: number): Promise<TakeResult> {
    checkBucketArgs(key, capacity, refillPerMs, cost, now);
    return guard('take tokens', () => this.takeTx.immediate(key, capacity, refillPerMs, cost, now));
  }

  async addToWindow(key: string, windowMs: number, amount: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now, amount);
    return guard('add to window', () => this.addTx.immediate(key, windowMs, amount, now));
  }

  async getWindow(key: string, windowMs: number, now: number): Promise<number> {
    checkWindowArgs(key, windowMs, now);
    const row = guard('read window', () => this.getWin.get(key, windowMs, windowStart(windowMs, now)) as { total: number } | undefined);
    return row?.total ?? 0;
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly counters: CounterStore;
  readonly events: EventStore;
  readonly alerts: AlertStore;
  readonly datasets: DatasetRecordStore;
  readonly guardState: GuardStateStore;
  /** The underlying connection, for tests and maintenance commands only. */
  readonly db: Db;
  private closed = false;

  constructor(db: Db) {
    this.db = db;
    this.keys = new SqliteKeyStore(db);
    this.audit = new SqliteAuditStore(db);
    this.counters = new SqliteCounterStore(db);
    this.events = new SqliteEventStore(db);
    this.alerts = new SqliteAlertStore(db);
    this.datasets = new SqliteDatasetRecordStore(db);
    this.guardState = new SqliteGuardStateStore(db);
  }

  /**
   * Whether commits on this connection may run SQLite's automatic WAL checkpoint (on by default).
   * Off on the gateway's request thread when the audit thread writes the same file: a checkpoint
   * fsyncs twice and would pause request handling; the audit thread's commits checkpoint instead.
   */
  setAutoCheckpoint(on: boolean): void {
    this.db.pragma(`wal_autocheckpoint = ${on ? 1000 : 0}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** Opens (creating if needed) and migrates a SQLite store. */
export function openSqliteStore(opts: SqliteStoreOptions, logger: Logger): SqliteStore {
  const memory = opts.path === ':memory:';
  let db: Db;
  try {
    // Create the file owner-only before SQLite does: it holds key hashes and the audit trail.
    if (!memory) closeSync(openSync(opts.path, 'a', 0o600));
    db = new Database(opts.path);
  } catch (e) {
    throw new StoreOpenError(`cannot open SQLite store ${opts.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
    });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    if (!memory) db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS crash or power loss
    // can drop the last transactions (documented in docs/store.md).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db, logger);
    return new SqliteStore(db);
  } catch (e) {
    db.close();
    if (e instanceof Error && 'code' in e && String(e.code).startsWith('RAMPART_ERR_')) throw e;
    throw new StoreOpenError(`cannot open SQLite store ${opts.path}: ${(e as Error).message}`, { cause: e });
  }
}
