// The tampering cases `verifyAudit` must name, run against any store whose tables a test can edit
// directly (SQLite file, PostgreSQL schema). Each case writes a 20-entry chain through the real
// audit writer (checkpoints every 5), edits the database behind Rampart's back, and asserts the
// first bad seq and the reason.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import type { AuditEntry, Store } from '../store/types.js';
import { createAuditLog } from './audit-log.js';
import { entryHash } from './chain.js';
import { sampleRecord } from './testing/records.js';
import { verifyAudit } from './verify.js';

export interface TamperHarness {
  store: Store;
  /** Runs SQL (several statements allowed) directly on the store's database. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function runTamperCases(name: string, factory: () => Promise<TamperHarness>): void {
  describe(`audit verify detects tampering: ${name}`, () => {
    let h: TamperHarness;
    let chain: AuditEntry[];
    const entry = (seq: number) => chain[seq - 1]!;

    beforeEach(async () => {
      h = await factory();
      const log = createAuditLog(h.store.audit, { includeBodies: false, checkpointEvery: 5, flushEvery: 7 }, silentLogger());
      for (let i = 1; i <= 20; i++) log.record(sampleRecord(i));
      await log.close();
      chain = await h.store.audit.readAudit(1, 100);
    });
    afterEach(async () => {
      await h.close();
    });

    const renumber = (fromSeq: number, delta: number) =>
      h.exec(`UPDATE audit SET seq = -(seq + (${delta})) WHERE seq >= ${fromSeq}; UPDATE audit SET seq = -seq WHERE seq < 0;`);
    const setRow = (seq: number, e: Omit<AuditEntry, 'seq'>) =>
      h.exec(`UPDATE audit SET time = ${e.time}, prev_hash = ${q(e.prevHash)}, hash = ${q(e.hash)}, body = ${q(e.body)} WHERE seq = ${seq}`);
    const insertRow = (e: AuditEntry) =>
      h.exec(`INSERT INTO audit (seq, time, prev_hash, hash, body) VALUES (${e.seq}, ${e.time}, ${q(e.prevHash)}, ${q(e.hash)}, ${q(e.body)})`);
    const expectBad = async (seq: number, reason: string) => {
      const r = await verifyAudit(h.store.audit);
      expect(r.ok).toBe(false);
      expect(r.firstBad).toMatchObject({ seq, reason });
      expect(r.checked).toBeLessThanOrEqual(seq);
    };

    it('an intact chain verifies, with every checkpoint compared', async () => {
      expect(chain).toHaveLength(20);
      const r = await verifyAudit(h.store.audit);
      expect(r).toEqual({ ok: true, checked: 20, lastSeq: 20, checkpoints: 4 });
    });

    it('altered: a body edited in place', async () => {
      await h.exec(`UPDATE audit SET body = replace(body, 'svc-batch', 'mallory') WHERE seq = 7`);
      await expectBad(7, 'altered');
    });

    it('altered: the time edited in place', async () => {
      await h.exec(`UPDATE audit SET time = time + 1 WHERE seq = 12`);
      await expectBad(12, 'altered');
    });

    it('altered: a body edited and its own hash recomputed', async () => {
      const e = entry(7);
      const body = e.body.replace('"status":200', '"status":500');
      await setRow(7, { ...e, body, hash: entryHash(7, e.time, e.prevHash, body) });
      await expectBad(7, 'altered');
    });

    it('checkpoint-mismatch: a body edited and the whole rest of the chain rewritten', async () => {
      let prev = entry(6).hash;
      for (let s = 7; s <= 20; s++) {
        const e = entry(s);
        const body = s === 7 ? e.body.replace('"decision":"allow"', '"decision":"deny"') : e.body;
        const hash = entryHash(s, e.time, prev, body);
        await setRow(s, { time: e.time, prevHash: prev, hash, body });
        prev = hash;
      }
      await expectBad(10, 'checkpoint-mismatch');
    });

    it('deleted: a record removed', async () => {
      await h.exec('DELETE FROM audit WHERE seq = 7');
      await expectBad(7, 'deleted');
    });

    it('deleted: the first record removed', async () => {
      await h.exec('DELETE FROM audit WHERE seq = 1');
      await expectBad(1, 'deleted');
    });

    it('deleted: records removed and the rest renumbered to close the gap', async () => {
      await h.exec('DELETE FROM audit WHERE seq IN (7, 8)');
      await renumber(9, -2);
      await expectBad(7, 'deleted');
    });

    it('inserted: a made-up record slipped in, the rest renumbered', async () => {
      await renumber(7, 1);
      await insertRow({ seq: 7, time: entry(7).time, prevHash: entry(6).hash, hash: 'f'.repeat(64), body: '{"id":"forged"}' });
      await expectBad(7, 'inserted');
    });

    it('inserted: a well-formed record chained to its predecessor, the rest renumbered', async () => {
      await renumber(7, 1);
      const body = '{"id":"forged","principal":"mallory"}';
      await insertRow({ seq: 7, time: entry(7).time, prevHash: entry(6).hash, hash: entryHash(7, entry(7).time, entry(6).hash, body), body });
      await expectBad(7, 'inserted');
    });

    it('inserted: a copy of an earlier record appended', async () => {
      const e = entry(3);
      await insertRow({ ...e, seq: 21 });
      await expectBad(21, 'inserted');
    });

    it('reordered: two neighbours swapped', async () => {
      await setRow(7, entry(8));
      await setRow(8, entry(7));
      await expectBad(7, 'reordered');
    });

    it('reordered: two distant records swapped by seq', async () => {
      await h.exec('UPDATE audit SET seq = -1 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 16; UPDATE audit SET seq = 16 WHERE seq = -1;');
      await expectBad(4, 'reordered');
    });

    it('truncated: the tail removed after a checkpoint', async () => {
      await h.exec('DELETE FROM audit WHERE seq >= 18');
      await expectBad(18, 'truncated');
    });

    it('truncated: tail and its checkpoints removed, caught by an anchor kept elsewhere', async () => {
      await h.exec('DELETE FROM audit WHERE seq >= 18; DELETE FROM audit_checkpoints WHERE seq >= 18;');
      expect((await verifyAudit(h.store.audit)).ok).toBe(true);
      const r = await verifyAudit(h.store.audit, { anchors: [{ seq: 20, hash: entry(20).hash, time: 0 }] });
      expect(r.firstBad).toMatchObject({ seq: 18, reason: 'truncated' });
    });

    it('checkpoint-mismatch: a checkpoint that disagrees with its entry', async () => {
      await h.exec(`UPDATE audit_checkpoints SET hash = ${q('0'.repeat(63) + '1')} WHERE seq = 15`);
      await expectBad(15, 'checkpoint-mismatch');
    });
  });
}
