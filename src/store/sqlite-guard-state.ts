// SQLite implementation of the guard-state store (migration 3): versioned blobs with an expiry.
// Compare-and-set runs in an IMMEDIATE transaction, so two processes sharing the file serialise.
import type Database from 'better-sqlite3';
import { StoreUnavailableError } from './errors.js';
import { checkCasArgs, checkStateKey } from './guard-state-args.js';
import type { GuardStateEntry, GuardStateStore } from './types.js';

type Db = Database.Database;

interface Row {
  value: string;
  version: number;
  expires_at: number;
}

function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_')) throw e;
    throw new StoreUnavailableError(`sqlite: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

export class SqliteGuardStateStore implements GuardStateStore {
  private readonly get;
  private readonly upsert;
  private readonly del;
  private readonly prune;
  private readonly casTx;

  constructor(db: Db) {
    this.get = db.prepare('SELECT value, version, expires_at FROM guard_state WHERE key = ?');
    this.upsert = db.prepare(
      `INSERT INTO guard_state (key, value, version, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    );
    this.del = db.prepare('DELETE FROM guard_state WHERE key = ?');
    this.prune = db.prepare('DELETE FROM guard_state WHERE expires_at <= ?');
    this.casTx = db.transaction((key: string, expected: number, value: string, expiresAt: number, now: number): number | null => {
      const row = this.get.get(key) as Row | undefined;
      const live = row !== undefined && row.expires_at > now;
      if (expected === 0 ? live : !live || row.version !== expected) return null;
      // An expired row keeps counting up, so a writer holding its old version cannot match again.
      const version = (row?.version ?? 0) + 1;
      this.upsert.run(key, value, version, expiresAt);
      return version;
    });
  }

  async getState(key: string, now: number): Promise<GuardStateEntry | null> {
    checkStateKey(key);
    const row = guard('read guard state', () => this.get.get(key) as Row | undefined);
    if (!row || row.expires_at <= now) return null;
    return { value: row.value, version: row.version, expiresAt: row.expires_at };
  }

  async casState(key: string, expectedVersion: number, value: string, expiresAt: number, now: number): Promise<number | null> {
    checkCasArgs(key, expectedVersion, value, expiresAt, now);
    return guard('write guard state', () => this.casTx.immediate(key, expectedVersion, value, expiresAt, now));
  }

  async deleteState(key: string): Promise<boolean> {
    checkStateKey(key);
    return guard('delete guard state', () => this.del.run(key).changes === 1);
  }

  async pruneState(now: number): Promise<number> {
    return guard('prune guard state', () => this.prune.run(now).changes);
  }
}
