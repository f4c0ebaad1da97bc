// Versioned schema of the SQLite store. Append new migrations; never edit one that has shipped
// (a database records which versions it has applied in schema_migrations).
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keys, audit chain, checkpoints, counters',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
        roles TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        description TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX api_keys_principal ON api_keys (principal);
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        time INTEGER NOT NULL
      );
      CREATE TABLE counter_buckets (
        key TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated_at REAL NOT NULL
      );
      CREATE TABLE counter_windows (
        key TEXT NOT NULL,
        window_ms INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        total REAL NOT NULL,
        PRIMARY KEY (key, window_ms, window_start)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'monitoring events, alerts, alert outbox',
    sql: `
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        principal TEXT,
        body TEXT NOT NULL
      );
      CREATE INDEX events_time ON events (time);
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        dedup_key TEXT NOT NULL,
        detector TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
        title TEXT NOT NULL,
        details TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL,
        acked_by TEXT,
        acked_at INTEGER,
        resolved_by TEXT,
        resolved_at INTEGER
      );
      CREATE INDEX alerts_dedup ON alerts (dedup_key, status);
      CREATE INDEX alerts_first_seen ON alerts (first_seen);
      CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_error TEXT
      );
      CREATE INDEX alert_outbox_due ON alert_outbox (sink, delivered_at, next_attempt_at);
    `,
  },
  {
    version: 3,
    name: 'guard state (extraction detector, penalties)',
    sql: `
      CREATE TABLE guard_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX guard_state_expires ON guard_state (expires_at);
    `,
  },
  {
    version: 4,
    name: 'dataset ingestion: accepted and quarantined records',
    sql: `
      CREATE TABLE dataset_accepted (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        dataset TEXT NOT NULL,
        time INTEGER NOT NULL,
        principal TEXT,
        request_id TEXT NOT NULL,
        body TEXT NOT NULL,
        findings TEXT NOT NULL,
        released_by TEXT,
        released_at INTEGER
      );
      CREATE INDEX dataset_accepted_dataset ON dataset_accepted (dataset, seq);
      CREATE TABLE dataset_quarantine (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        dataset TEXT NOT NULL,
        time INTEGER NOT NULL,
        principal TEXT,
        request_id TEXT NOT NULL,
        body TEXT NOT NULL,
        findings TEXT NOT NULL
      );
      CREATE INDEX dataset_quarantine_dataset ON dataset_quarantine (dataset, seq);
    `,
  },
];
