// Versioned schema of the PostgreSQL store. Append new migrations; never edit one that has shipped.
import type { Migration } from './sqlite-migrations.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keys, audit chain, checkpoints, counters',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
        roles JSONB NOT NULL,
        secret_hash TEXT NOT NULL,
        description TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX api_keys_principal ON api_keys (principal);
      CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        time BIGINT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE TABLE audit_checkpoints (
        seq BIGINT PRIMARY KEY,
        hash TEXT NOT NULL,
        time BIGINT NOT NULL
      );
      CREATE TABLE counter_buckets (
        key TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
      );
      CREATE TABLE counter_windows (
        key TEXT NOT NULL,
        window_ms BIGINT NOT NULL,
        window_start BIGINT NOT NULL,
        total DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (key, window_ms, window_start)
      );
    `,
  },
];
