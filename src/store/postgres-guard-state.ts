// PostgreSQL implementation of the guard-state store (migration 4): every replica reads and
// compare-and-sets the same rows. Each operation is one statement, atomic on the server.
import type pg from 'pg';
import { StoreUnavailableError } from './errors.js';
import { checkCasArgs, checkStateKey } from './guard-state-args.js';
import type { GuardStateEntry, GuardStateStore } from './types.js';

async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new StoreUnavailableError(`postgres: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

export class PgGuardStateStore implements GuardStateStore {
  constructor(private readonly pool: pg.Pool) {}

  async getState(key: string, now: number): Promise<GuardStateEntry | null> {
    checkStateKey(key);
    const { rows } = await guard('read guard state', () =>
      this.pool.query<{ value: string; version: string; expires_at: string }>(
        'SELECT value, version, expires_at FROM guard_state WHERE key = $1 AND expires_at > $2',
        [key, now],
      ),
    );
    const r = rows[0];
    return r ? { value: r.value, version: Number(r.version), expiresAt: Number(r.expires_at) } : null;
  }

  async casState(key: string, expectedVersion: number, value: string, expiresAt: number, now: number): Promise<number | null> {
    checkCasArgs(key, expectedVersion, value, expiresAt, now);
    const { rows } = await guard('write guard state', () =>
      expectedVersion === 0
        ? // Absent or expired: insert, or take over the expired row (its version keeps counting up).
          this.pool.query<{ version: string }>(
            `INSERT INTO guard_state AS g (key, value, version, expires_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = g.version + 1, expires_at = excluded.expires_at
             WHERE g.expires_at <= $4
             RETURNING version`,
            [key, value, expiresAt, now],
          )
        : this.pool.query<{ version: string }>(
            `UPDATE guard_state SET value = $2, version = version + 1, expires_at = $3
             WHERE key = $1 AND version = $4 AND expires_at > $5
             RETURNING version`,
            [key, value, expiresAt, expectedVersion, now],
          ),
    );
    return rows[0] ? Number(rows[0].version) : null;
  }

  async deleteState(key: string): Promise<boolean> {
    checkStateKey(key);
    const r = await guard('delete guard state', () => this.pool.query('DELETE FROM guard_state WHERE key = $1', [key]));
    return r.rowCount === 1;
  }

  async pruneState(now: number): Promise<number> {
    const r = await guard('prune guard state', () => this.pool.query('DELETE FROM guard_state WHERE expires_at <= $1', [now]));
    return r.rowCount ?? 0;
  }
}
