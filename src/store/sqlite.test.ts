// Runs the store conformance suite against SQLite (in memory and on disk), plus SQLite specifics:
// migrations, file permissions, WAL, two connections on one file.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openStore } from './index.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { runStoreConformance } from './store.case.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreConformance('sqlite :memory:', () => openStore({ type: 'sqlite', path: ':memory:' }, silentLogger()));
runStoreConformance('sqlite file', () => openStore({ type: 'sqlite', path: join(dir, `c${n++}.db`) }, silentLogger()));

describe('sqlite store specifics', () => {
  it('creates the file owner-only, in WAL mode, with the migrations recorded', async () => {
    const path = join(dir, 'perm.db');
    const store = (await openStore({ type: 'sqlite', path }, silentLogger())) as SqliteStore;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const versions = store.db.prepare('SELECT version FROM schema_migrations').all();
    expect(versions).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version })));
    await store.close();
    // Re-opening applies nothing twice.
    const again = openSqliteStore({ path }, silentLogger());
    expect(again.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: SQLITE_MIGRATIONS.length });
    await again.close();
  });

  it('refuses a database written by a newer schema version', async () => {
    const path = join(dir, 'newer.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    raw.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    raw.close();
    await expect(openStore({ type: 'sqlite', path }, silentLogger())).rejects.toMatchObject({ code: 'RAMPART_ERR_STORE_MIGRATION' });
  });

  it('fails with a coded error when the folder does not exist', async () => {
    await expect(openStore({ type: 'sqlite', path: join(dir, 'no', 'such', 'x.db') }, silentLogger())).rejects.toMatchObject({
      code: 'RAMPART_ERR_STORE_OPEN',
    });
  });

  it('fails with a coded error on a file that is not a database', async () => {
    const path = join(dir, 'garbage.db');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, Buffer.alloc(4096, 7));
    await expect(openStore({ type: 'sqlite', path }, silentLogger())).rejects.toMatchObject({ code: 'RAMPART_ERR_STORE_OPEN' });
  });

  it('two connections to one file share one token bucket without over-admitting', async () => {
    const path = join(dir, 'shared.db');
    const a = await openStore({ type: 'sqlite', path }, silentLogger());
    const b = await openStore({ type: 'sqlite', path }, silentLogger());
    const takes = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).counters.takeTokens('shared', 10, 1e-9, 1, 1000));
    expect((await Promise.all(takes)).filter((r) => r.allowed)).toHaveLength(10);
    await a.keys.insertApiKey({
      id: 'k',
      principal: 'p',
      kind: 'user',
      roles: [],
      secretHash: 'f'.repeat(64),
      description: null,
      createdAt: 1,
      expiresAt: null,
      revokedAt: null,
    });
    expect(await b.keys.getApiKey('k')).not.toBeNull();
    await a.close();
    await b.close();
  });
});
