// The gateway's common audit record as an array of its values, for the hand-over to the audit
// thread (thread.ts): a structured clone of about twenty primitives costs the request thread less
// than serialising the record there (about 0.8 against 3.4 µs a record, measured with a
// MessageChannel), and the thread serialises it with the same function as before, so the stored
// bytes are the same. Only records that are exactly that shape travel this way; anything else
// (bodies, guard verdicts, other keys or values of other kinds) is serialised before it is sent.
import type { AuditRecord } from '../core/contracts.js';

/** The own enumerable keys of a record that travels as a tuple, in the order the gateway writes them. */
export const TUPLE_KEYS = [
  'id',
  'time',
  'principal',
  'authMethod',
  'model',
  'action',
  'route',
  'method',
  'path',
  'sourceIp',
  'decision',
  'policyIds',
  'errorCode',
  'status',
  'latencyMs',
  'upstreamMs',
  'bytesIn',
  'bytesOut',
  'usage',
] as const;

export type RecordTuple = unknown[];

const USAGE_KEYS = new Set(['promptTokens', 'completionTokens', 'totalTokens']);

function scalar(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'undefined' || v === null;
}

/**
 * The record's values in TUPLE_KEYS order, or null when it is not exactly that shape: other or
 * more keys, or a value that is not a primitive (policyIds: strings only; usage: null or an object
 * of exactly the three token counts as numbers). `fromTuple` then gives back a record that
 * serialises to the same bytes.
 */
export function toTuple(rec: AuditRecord): RecordTuple | null {
  const keys = Object.keys(rec);
  if (keys.length !== TUPLE_KEYS.length) return null;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== TUPLE_KEYS[i]) return null;
  const ids: unknown = rec.policyIds;
  if (!Array.isArray(ids)) return null;
  for (let i = 0; i < ids.length; i++) if (typeof ids[i] !== 'string') return null;
  const u: unknown = rec.usage;
  if (u !== null) {
    if (typeof u !== 'object' || Array.isArray(u)) return null;
    const uk = Object.keys(u);
    if (uk.length !== 3) return null;
    for (const k of uk) if (!USAGE_KEYS.has(k) || typeof (u as Record<string, unknown>)[k] !== 'number') return null;
  }
  const t: RecordTuple = [
    rec.id,
    rec.time,
    rec.principal,
    rec.authMethod,
    rec.model,
    rec.action,
    rec.route,
    rec.method,
    rec.path,
    rec.sourceIp,
    rec.decision,
    ids,
    rec.errorCode,
    rec.status,
    rec.latencyMs,
    rec.upstreamMs,
    rec.bytesIn,
    rec.bytesOut,
    u,
  ];
  for (let i = 0; i < t.length; i++) if (i !== 11 && i !== 18 && !scalar(t[i])) return null;
  return t;
}

/** The record a tuple was made from (the same keys, in the same order, with the same values). */
export function fromTuple(t: RecordTuple): AuditRecord {
  const rec: Record<string, unknown> = {};
  for (let i = 0; i < TUPLE_KEYS.length; i++) rec[TUPLE_KEYS[i]!] = t[i];
  return rec as unknown as AuditRecord;
}
