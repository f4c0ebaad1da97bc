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
  {
    version: 2,
    name: 'token bucket as one server-side call',
    // One round trip instead of a five-statement transaction; the same arithmetic as
    // counter-math.ts (bucketStep), which the conformance suite holds it to.
    sql: `
      CREATE FUNCTION rampart_take_tokens(
        p_key TEXT, p_capacity DOUBLE PRECISION, p_rate DOUBLE PRECISION, p_cost DOUBLE PRECISION, p_now DOUBLE PRECISION,
        OUT allowed BOOLEAN, OUT remaining DOUBLE PRECISION, OUT retry_after_ms DOUBLE PRECISION
      ) LANGUAGE plpgsql AS $fn$
      DECLARE
        t DOUBLE PRECISION;
        u DOUBLE PRECISION;
        avail DOUBLE PRECISION;
      BEGIN
        INSERT INTO counter_buckets (key, tokens, updated_at) VALUES (p_key, p_capacity, p_now) ON CONFLICT (key) DO NOTHING;
        SELECT b.tokens, b.updated_at INTO t, u FROM counter_buckets b WHERE b.key = p_key FOR UPDATE;
        avail := LEAST(p_capacity, t + GREATEST(0, p_now - u) * p_rate);
        u := GREATEST(u, p_now);
        IF avail >= p_cost THEN
          allowed := TRUE;
          remaining := avail - p_cost;
          retry_after_ms := 0;
        ELSE
          allowed := FALSE;
          remaining := 0;
          retry_after_ms := ceil((p_cost - avail) / p_rate);
        END IF;
        UPDATE counter_buckets SET tokens = CASE WHEN allowed THEN avail - p_cost ELSE avail END, updated_at = u WHERE key = p_key;
      END
      $fn$;
    `,
  },
  {
    version: 3,
    name: 'monitoring events, alerts, alert outbox',
    sql: `
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        time BIGINT NOT NULL,
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
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        count INTEGER NOT NULL,
        acked_by TEXT,
        acked_at BIGINT,
        resolved_by TEXT,
        resolved_at BIGINT
      );
      CREATE INDEX alerts_dedup ON alerts (dedup_key, status);
      CREATE INDEX alerts_first_seen ON alerts (first_seen);
      CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        delivered_at BIGINT,
        last_error TEXT
      );
      CREATE INDEX alert_outbox_due ON alert_outbox (sink, delivered_at, next_attempt_at);
    `,
  },
  {
    version: 4,
    name: 'dataset ingestion: accepted and quarantined records',
    sql: `
      CREATE TABLE dataset_accepted (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        dataset TEXT NOT NULL,
        time BIGINT NOT NULL,
        principal TEXT,
        request_id TEXT NOT NULL,
        body TEXT NOT NULL,
        findings TEXT NOT NULL,
        released_by TEXT,
        released_at BIGINT
      );
      CREATE INDEX dataset_accepted_dataset ON dataset_accepted (dataset, seq);
      CREATE TABLE dataset_quarantine (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        dataset TEXT NOT NULL,
        time BIGINT NOT NULL,
        principal TEXT,
        request_id TEXT NOT NULL,
        body TEXT NOT NULL,
        findings TEXT NOT NULL
      );
      CREATE INDEX dataset_quarantine_dataset ON dataset_quarantine (dataset, seq);
    `,
  },
  {
    version: 5,
    name: 'guard state (extraction detector, penalties)',
    sql: `
      CREATE TABLE guard_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        version BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX guard_state_expires ON guard_state (expires_at);
    `,
  },
];
