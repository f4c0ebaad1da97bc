// The audit hash chain format (docs/audit.md, "Hash chain"). Each entry's hash is
//   SHA-256( "rampart.audit.v1\n" || seq || "\n" || time || "\n" || prevHash || "\n" || body )
// with seq and time as decimal integers, prevHash as 64 lowercase hex digits and body the
// canonical JSON of the record, all UTF-8. The domain tag keeps these hashes from colliding with
// any other SHA-256 use; seq and time are digits and prevHash is hex, so no field can contain the
// separator and the body, last, needs no length prefix.
import * as nodeCrypto from 'node:crypto';
import type { AuditEntry } from '../store/types.js';

export const CHAIN_DOMAIN = 'rampart.audit.v1';

/** prevHash of the first entry (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

// One-shot hashing (Node >= 20.12) costs about half of a Hash object for a record-sized input.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

export function entryHash(seq: number, time: number, prevHash: string, body: string): string {
  const data = `${CHAIN_DOMAIN}\n${seq}\n${time}\n${prevHash}\n${body}`;
  return oneShot !== undefined ? oneShot('sha256', data, 'hex') : nodeCrypto.createHash('sha256').update(data, 'utf8').digest('hex');
}

/** Builds the entry that follows `prev` (null: the first entry). */
export function nextEntry(prev: { seq: number; hash: string } | null, time: number, body: string): AuditEntry {
  const seq = (prev?.seq ?? 0) + 1;
  const prevHash = prev?.hash ?? GENESIS_HASH;
  return { seq, time, prevHash, body, hash: entryHash(seq, time, prevHash, body) };
}

/** True when the entry's stored hash is the hash of its own fields. */
export function selfConsistent(e: AuditEntry): boolean {
  return entryHash(e.seq, e.time, e.prevHash, e.body) === e.hash;
}
