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
];
