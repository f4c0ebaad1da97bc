// Verifies the audit hash chain and names the first record that was tampered with.
//
// Walks the chain in seq order, accepting an entry when its hash is the hash of its own fields
// (self-consistent) and its prevHash is the previous entry's hash (linked), and checks every
// checkpoint (and caller-supplied anchor) against the accepted entry at its seq. At the first
// entry that fails, it works out what happened from where that entry's hash says it belongs:
// the hash covers seq, so a record that was moved no longer matches its new seq but still matches
// its original one. docs/audit.md, "What verify detects", lists the cases and the limits.
import type { AuditCheckpoint, AuditEntry, AuditStore } from '../store/types.js';
import { entryHash, GENESIS_HASH, selfConsistent } from './chain.js';

export type TamperReason = 'altered' | 'deleted' | 'inserted' | 'reordered' | 'checkpoint-mismatch' | 'truncated';

export interface VerifyResult {
  ok: boolean;
  /** Entries verified (up to the first bad one). */
  checked: number;
  /** Highest seq stored (0 when empty). */
  lastSeq: number;
  /** Checkpoints and anchors compared. */
  checkpoints: number;
  firstBad?: { seq: number; reason: TamperReason; detail: string };
}

export interface VerifyOptions {
  /** Extra trusted checkpoints kept outside the store (e.g. from the logs: `audit: checkpoint`). */
  anchors?: AuditCheckpoint[];
  pageSize?: number;
  /**
   * Verify a chain that starts later than seq 1 (a filtered export): entries from `seq` on, the
   * first one's link to `prevHash` taken on trust. Checkpoints before `seq` are ignored.
   */
  startAt?: { seq: number; prevHash: string };
}

/** How far from its current seq verify looks for the seq a moved entry belongs at. */
const HOME_RADIUS = 1024;
/** How many following entries verify reads to tell a reordering from a deletion or insertion. */
const LOOKAHEAD = 512;
/** How many accepted hashes are remembered to recognise a link to an earlier entry. */
const RECENT = 8192;

/**
 * Checks the whole chain.
 *
 * @example
 * const r = await verifyAudit(store.audit);
 * if (!r.ok) console.log(`seq ${r.firstBad.seq}: ${r.firstBad.reason}`);
 */
export async function verifyAudit(store: AuditStore, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = opts.pageSize ?? 1000;
  const first = opts.startAt?.seq ?? 1;
  const cps = [...(await store.listCheckpoints()), ...(opts.anchors ?? [])]
    .filter((c) => first === 1 || c.seq >= first)
    .sort((a, b) => a.seq - b.seq);
  const last = await store.lastAudit();
  const lastSeq = last?.seq ?? 0;
  let cpIdx = 0;
  let checkpoints = 0;
  const recent = new Map<string, number>();
  let prev = { seq: first - 1, hash: opts.startAt?.prevHash ?? GENESIS_HASH };
  let checked = 0;
  let from = first;
  const bad = (seq: number, reason: TamperReason, detail: string): VerifyResult => ({
    ok: false,
    checked,
    lastSeq,
    checkpoints,
    firstBad: { seq, reason, detail },
  });

  // A checkpoint below seq 1 cannot belong to any chain.
  if (cps[0] && cps[0].seq < 1) return bad(cps[0].seq, 'checkpoint-mismatch', 'checkpoint before the first seq');
  // Nor can an entry: the chain starts at 1, so anything below was added by hand.
  const [below] = await store.readAudit(Number.MIN_SAFE_INTEGER, 1);
  if (below && below.seq < first) return bad(below.seq, 'inserted', `seq ${below.seq} is below the first seq of the chain`);

  for (;;) {
    const page = await store.readAudit(from, pageSize);
    if (page.length === 0) break;
    for (const e of page) {
      const s = prev.seq + 1;
      if (e.seq !== s) return bad(s, 'deleted', `seq ${s}${e.seq > s + 1 ? `..${e.seq - 1}` : ''} missing`);
      // A row whose fields have the wrong types (edited by hand) cannot be hashed: it was altered.
      if (!wellFormed(e)) return bad(s, 'altered', `seq ${s} has malformed fields`);
      const self = selfConsistent(e);
      const linked = e.prevHash === prev.hash;
      if (!self || !linked) return diagnose(store, e, recent, self, bad);
      // Accepted.
      checked++;
      recent.set(e.hash, e.seq);
      if (recent.size > RECENT) recent.delete(recent.keys().next().value as string);
      prev = { seq: e.seq, hash: e.hash };
      while (cps[cpIdx] && cps[cpIdx]!.seq === e.seq) {
        checkpoints++;
        if (cps[cpIdx]!.hash !== e.hash) {
          return bad(e.seq, 'checkpoint-mismatch', `seq ${e.seq} differs from its checkpoint: the chain was rewritten at or before it`);
        }
        cpIdx++;
      }
    }
    from = page[page.length - 1]!.seq + 1;
  }
  if (cps[cpIdx]) {
    return bad(prev.seq + 1, 'truncated', `the chain ends at seq ${prev.seq} but a checkpoint records seq ${cps[cps.length - 1]!.seq}`);
  }
  return { ok: true, checked, lastSeq, checkpoints };
}

function wellFormed(e: AuditEntry): boolean {
  return (
    Number.isSafeInteger(e.seq) &&
    Number.isSafeInteger(e.time) &&
    typeof e.prevHash === 'string' &&
    typeof e.hash === 'string' &&
    typeof e.body === 'string'
  );
}

function belongsAt(e: AuditEntry, seq: number): boolean {
  return seq >= 1 && wellFormed(e) && entryHash(seq, e.time, e.prevHash, e.body) === e.hash;
}

/** The seq whose hash the entry carries, searched near where it is now. */
function homeOf(e: AuditEntry, recent: Map<string, number>): number | null {
  const linkedTo = recent.get(e.prevHash);
  const guesses = [e.seq + 1, e.seq - 1];
  if (linkedTo !== undefined) guesses.unshift(linkedTo + 1);
  if (e.prevHash === GENESIS_HASH) guesses.unshift(1);
  for (const g of guesses) if (g !== e.seq && belongsAt(e, g)) return g;
  for (let d = 2; d <= HOME_RADIUS; d++) {
    if (belongsAt(e, e.seq + d)) return e.seq + d;
    if (belongsAt(e, e.seq - d)) return e.seq - d;
  }
  return null;
}

async function diagnose(
  store: AuditStore,
  e: AuditEntry,
  recent: Map<string, number>,
  self: boolean,
  bad: (seq: number, reason: TamperReason, detail: string) => VerifyResult,
): Promise<VerifyResult> {
  const s = e.seq;
  if (self) {
    // The entry is intact but does not link to what precedes it.
    const j = recent.get(e.prevHash);
    if (j !== undefined && j < s - 1) return bad(j + 1, 'inserted', `seq ${s} links to seq ${j}: seq ${j + 1}..${s - 1} were inserted`);
    if (s === 1) return bad(1, 'altered', 'the first entry does not start the chain');
    return bad(s - 1, 'altered', `seq ${s} does not link to seq ${s - 1}: seq ${s - 1} was changed (or entries before seq ${s} removed)`);
  }
  const after = await store.readAudit(s + 1, LOOKAHEAD);
  const home = homeOf(e, recent);
  if (home === null) {
    // Not the hash of these fields at any seq nearby: the content was changed, unless the
    // original of this seq was pushed one further by an inserted entry.
    const next = after[0];
    if (next && next.seq === s + 1 && belongsAt(next, s)) {
      return bad(s, 'inserted', `seq ${s} is not part of the chain; the original seq ${s} now sits at seq ${s + 1}`);
    }
    if (recent.has(e.hash)) return bad(s, 'inserted', `seq ${s} is a copy of an earlier entry`);
    return bad(s, 'altered', `seq ${s} does not match its hash`);
  }
  if (home > s) {
    // This entry was written as seq `home`. If the original seq s shows up later, entries were
    // swapped; if it is nowhere, entries s..home-1 were removed and the rest renumbered.
    for (const r of after) {
      if (r.seq !== s && belongsAt(r, s)) {
        return bad(s, 'reordered', `seq ${s} holds the entry written as seq ${home}; the original seq ${s} is at seq ${r.seq}`);
      }
    }
    return bad(s, 'deleted', `seq ${s} holds the entry written as seq ${home}: seq ${s}${home - 1 > s ? `..${home - 1}` : ''} removed and the rest renumbered`);
  }
  // home < s: an earlier original was pushed here, so what was accepted at `home` was inserted
  // (or this is a copy of an accepted entry).
  if (recent.has(e.hash)) return bad(s, 'inserted', `seq ${s} is a copy of seq ${recent.get(e.hash)}`);
  return bad(home, 'inserted', `seq ${s} holds the entry written as seq ${home}: entries were inserted from seq ${home}`);
}
