// Fuzz-style test of verifyAudit: a chain is edited behind Rampart's back with random mutations
// (fixed seed) and verify must never crash or hang, must always report the damage (every edit
// below changes the stored chain, and close() checkpointed the head), and must name the exact
// first bad seq and reason. Export must fail with a coded error, never crash, on bad bodies.
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore, SqliteStore } from '../store/sqlite.js';
import { createAuditLog } from './audit-log.js';
import { writeAuditJsonl } from './export.js';
import { sampleRecord } from './testing/records.js';
import { verifyAudit } from './verify.js';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const N = 40;
let image: Buffer;

beforeAll(async () => {
  const store = openSqliteStore({ path: ':memory:' }, silentLogger());
  const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 10, flushEvery: 6 }, silentLogger());
  for (let i = 1; i <= N; i++) log.record(sampleRecord(i));
  await log.close();
  image = store.db.serialize();
  await store.close();
});

type Mutation = { name: string; expect: { seq: number; reason: string }; apply: (db: Database.Database) => void };

function randomMutation(rnd: () => number): Mutation {
  const seq = 1 + Math.floor(rnd() * N);
  const other = 1 + ((seq - 1 + 1 + Math.floor(rnd() * (N - 1))) % N);
  const kind = Math.floor(rnd() * 9);
  const flip = (col: string) => (db: Database.Database) => {
    const v = (db.prepare(`SELECT ${col} AS v FROM audit WHERE seq = ?`).get(seq) as { v: string }).v;
    const i = Math.floor(rnd() * v.length);
    const c = v[i] === 'a' ? 'b' : 'a';
    db.prepare(`UPDATE audit SET ${col} = ? WHERE seq = ?`).run(v.slice(0, i) + c + v.slice(i + 1), seq);
  };
  switch (kind) {
    case 0:
      return { name: `flip body ${seq}`, expect: { seq, reason: 'altered' }, apply: flip('body') };
    case 1:
      return { name: `flip hash ${seq}`, expect: { seq, reason: 'altered' }, apply: flip('hash') };
    case 2:
      return { name: `flip prev_hash ${seq}`, expect: { seq, reason: 'altered' }, apply: flip('prev_hash') };
    case 3:
      return { name: `time ${seq}`, expect: { seq, reason: 'altered' }, apply: (db) => db.prepare('UPDATE audit SET time = time + ? WHERE seq = ?').run(1 + Math.floor(rnd() * 1e6), seq) };
    case 4: {
      const upto = Math.min(N, seq + Math.floor(rnd() * 3));
      const renumber = rnd() < 0.5;
      return {
        name: `delete ${seq}..${upto}${renumber ? ' + renumber' : ''}`,
        // Removing the tail leaves nothing to renumber: that is a truncation.
        expect: { seq, reason: upto === N ? 'truncated' : 'deleted' },
        apply: (db) => {
          db.prepare('DELETE FROM audit WHERE seq BETWEEN ? AND ?').run(seq, upto);
          if (renumber) db.exec(`UPDATE audit SET seq = -(seq - ${upto - seq + 1}) WHERE seq > ${upto}; UPDATE audit SET seq = -seq WHERE seq < 0;`);
        },
      };
    }
    case 5:
      return {
        name: `swap ${seq} ${other}`,
        expect: { seq: Math.min(seq, other), reason: 'reordered' },
        apply: (db) => db.exec(`UPDATE audit SET seq = -1 WHERE seq = ${seq}; UPDATE audit SET seq = ${seq} WHERE seq = ${other}; UPDATE audit SET seq = ${other} WHERE seq = -1;`),
      };
    case 6:
      return {
        name: `duplicate ${seq} into ${seq + 1} + renumber`,
        expect: { seq: seq + 1, reason: 'inserted' },
        apply: (db) => {
          db.exec(`UPDATE audit SET seq = -(seq + 1) WHERE seq > ${seq}; UPDATE audit SET seq = -seq WHERE seq < 0;`);
          db.exec(`INSERT INTO audit SELECT ${seq + 1}, time, prev_hash, hash, body FROM audit WHERE seq = ${seq}`);
        },
      };
    case 7:
      return {
        name: `body as blob ${seq}`,
        expect: { seq, reason: 'altered' },
        apply: (db) => db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(Buffer.from([0, 255, 1]), seq),
      };
    default:
      return { name: `row at seq 0`, expect: { seq: 0, reason: 'inserted' }, apply: (db) => db.exec(`INSERT INTO audit SELECT 0, time, prev_hash, hash, body FROM audit WHERE seq = ${seq}`) };
  }
}

describe('verifyAudit under random tampering', () => {
  it('names the first bad seq and the reason of each of 250 random edits, never crashing', async () => {
    const rnd = mulberry32(0x5eed);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 250; i++) {
      const m = randomMutation(rnd);
      const store = new SqliteStore(new Database(image));
      m.apply(store.db);
      const r = await verifyAudit(store.audit);
      await store.close();
      expect(r.ok, m.name).toBe(false);
      expect({ seq: r.firstBad!.seq, reason: r.firstBad!.reason }, m.name).toEqual(m.expect);
      reasons.set(r.firstBad!.reason, (reasons.get(r.firstBad!.reason) ?? 0) + 1);
    }
    // The edits exercise every reason except a rewritten chain (covered in tamper.case.ts).
    expect([...reasons.keys()].sort()).toEqual(expect.arrayContaining(['altered', 'deleted', 'inserted', 'reordered', 'truncated']));
  });

  it('export stops with a coded error on a body that is not JSON', async () => {
    const store = new SqliteStore(new Database(image));
    store.db.prepare('UPDATE audit SET body = ? WHERE seq = 5').run('{"id": nope');
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    await expect(writeAuditJsonl(store.audit, sink)).rejects.toMatchObject({ code: 'RAMPART_ERR_AUDIT_BAD_ENTRY' });
    await store.close();
  });
});
