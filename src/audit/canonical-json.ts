// Canonical JSON for hashing: object keys sorted by UTF-16 code units (JavaScript's default sort,
// as in RFC 8785), no whitespace, `undefined` members dropped, strings and numbers as
// JSON.stringify writes them. The same value always gives the same bytes, so the hash of a
// record does not depend on the order its fields were set in.
import type { AuditRecord } from '../core/contracts.js';
import { TUPLE_KEYS } from './record-tuple.js';

/**
 * Serialises `value` canonically. Throws on cycles, BigInt and non-plain values JSON cannot hold.
 * `omit`: top-level keys left out (as if undefined), which spares the caller a copy of the object.
 */
export function canonicalJson(value: unknown, omit?: ReadonlySet<string>): string {
  return write(value, new Set(), omit);
}

/** Escaped object keys: records repeat the same few keys, so they are escaped once (bounded). */
const KEYS = new Map<string, string>();

function quoteKey(k: string): string {
  let q = KEYS.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (KEYS.size < 1024) KEYS.set(k, q);
  }
  return q;
}

// Built by string concatenation rather than map/filter/join: this runs once per audit record on
// the gateway's request path.
function write(v: unknown, seen: Set<object>, omit?: ReadonlySet<string>): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      // JSON has no NaN/Infinity; null is what JSON.stringify writes for them. For finite numbers
      // JSON.stringify is ToString (ECMA-262 SerializeJSONProperty), i.e. String().
      return Number.isFinite(v) ? String(v) : 'null';
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: cannot serialise a ${typeof v}`);
  }
  const obj = v as object;
  if (seen.has(obj)) throw new TypeError('canonicalJson: cyclic value');
  seen.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out += ',';
      const x: unknown = obj[i];
      out += x === undefined ? 'null' : write(x, seen);
    }
    out += ']';
  } else if (obj instanceof Date) {
    out = JSON.stringify(obj.toISOString());
  } else {
    const rec = obj as Record<string, unknown>;
    const keys = Object.keys(rec).sort();
    out = '{';
    let first = true;
    for (const k of keys) {
      const x = rec[k];
      if (x === undefined || omit?.has(k) === true) continue;
      if (!first) out += ',';
      first = false;
      out += quoteKey(k) + ':' + write(x, seen);
    }
    out += '}';
  }
  seen.delete(obj);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fast path for audit records. canonicalJson spends most of its time on Object.keys, the sort and
// the Set/Map look-ups it does for every object; audit records almost always have the same few
// keys with primitive values, so their sorted order and quoted names are worked out once here.
// A record is written by the fast path only when the output is certain to be canonicalJson's:
// every own enumerable key is a known one (checked with for-in; when the prototype chain could
// add enumerable keys of its own, each key is also checked to be own and enumerable), every value is a
// primitive or one of the known nested shapes. Anything else — unknown keys, a Date, an object
// where a primitive was expected, a BigInt or function to refuse — is handed to canonicalJson.

/** How a value that is an object is written at a known key; undefined: only primitives. */
type Slot = { readonly object: Shape } | { readonly arrayOf: Shape | null };

/** A known object layout: its keys sorted as canonicalJson sorts them, and their quoted prefixes. */
interface Shape {
  readonly keys: readonly string[];
  /** `"key":` for the first member written, `,"key":` for the others. */
  readonly first: readonly string[];
  readonly next: readonly string[];
  /** Key name to its position in `keys` (a Map: no prototype to inherit names from). */
  readonly index: ReadonlyMap<string, number>;
  readonly slots: readonly (Slot | undefined)[];
}

function shape(layout: Readonly<Record<string, Slot | undefined>>): Shape {
  // Same comparison as canonicalJson's Object.keys(...).sort(): UTF-16 code units.
  const keys = Object.keys(layout).sort();
  if (keys.length > 30) throw new RangeError('canonical-json shape: at most 30 keys fit the bit mask');
  return {
    keys,
    first: keys.map((k) => JSON.stringify(k) + ':'),
    next: keys.map((k) => ',' + JSON.stringify(k) + ':'),
    index: new Map(keys.map((k, i) => [k, i])),
    slots: keys.map((k) => layout[k]),
  };
}

const PRIMITIVES: Slot = { arrayOf: null };

const GUARD_ENTRY = shape({
  name: undefined,
  kind: undefined,
  phase: undefined,
  action: undefined,
  shadow: undefined,
  score: undefined,
  reasons: PRIMITIVES,
  ms: undefined,
});

const USAGE = shape({ promptTokens: undefined, completionTokens: undefined, totalTokens: undefined });

const AUDIT_RECORD = shape({
  id: undefined,
  time: undefined,
  principal: undefined,
  authMethod: undefined,
  model: undefined,
  action: undefined,
  route: undefined,
  method: undefined,
  path: undefined,
  sourceIp: undefined,
  decision: undefined,
  policyIds: PRIMITIVES,
  errorCode: undefined,
  status: undefined,
  latencyMs: undefined,
  upstreamMs: undefined,
  bytesIn: undefined,
  bytesOut: undefined,
  usage: { object: USAGE },
  requestBody: undefined,
  responseBody: undefined,
  guards: { arrayOf: GUARD_ENTRY },
});

/** The body fields, as a Set for canonicalJson and as a bit mask over AUDIT_RECORD's keys. */
const BODY_FIELDS: ReadonlySet<string> = new Set(['requestBody', 'responseBody']);
let BODY_MASK = 0;
for (const k of BODY_FIELDS) BODY_MASK |= 1 << (AUDIT_RECORD.index.get(k) as number);

const isEnumerable = Object.prototype.propertyIsEnumerable;
const PLAIN = {};

/**
 * True when for-in over `o` yields exactly Object.keys(o): its prototype is null, or is
 * Object.prototype and nothing enumerable was added there. Cheaper than a check per key.
 */
function ownKeysOnly(o: object): boolean {
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === null) return true;
  if (proto !== Object.prototype) return false;
  for (const _ in PLAIN) return false;
  return true;
}

/** What JSON.stringify escapes in a string: quote, backslash, controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(s), without its cost for the common string that needs no escaping. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/**
 * The canonical JSON of an audit record: exactly `canonicalJson(rec, omitBodies ? new
 * Set(['requestBody', 'responseBody']) : undefined)`, for any value whatsoever, including the
 * throw for values canonicalJson refuses. Records of the AuditRecord shape take a fast path
 * with no Object.keys, sorting or Set look-ups; anything else goes to the generic writer.
 * Strings that need no escaping are quoted by concatenation rather than JSON.stringify.
 *
 * Reads each property of a record it can write quickly once; a record it hands to canonicalJson
 * after reading some values has those read again (observable only through getters or proxies).
 */
export function auditRecordJson(rec: AuditRecord, omitBodies: boolean): string {
  const v: unknown = rec;
  if (typeof v === 'object' && v !== null) {
    const out = writeShape(v, AUDIT_RECORD, omitBodies ? BODY_MASK : 0);
    if (out !== undefined) return out;
  }
  return canonicalJson(v, omitBodies ? BODY_FIELDS : undefined);
}

/** AUDIT_RECORD's keys that a tuple holds, in canonical (sorted) order, with their tuple positions. */
const TUPLE_LAYOUT = AUDIT_RECORD.keys
  .map((k, i) => ({ at: (TUPLE_KEYS as readonly string[]).indexOf(k), first: AUDIT_RECORD.first[i]!, next: AUDIT_RECORD.next[i]!, slot: AUDIT_RECORD.slots[i] }))
  .filter((e) => e.at >= 0);

/**
 * The canonical JSON of the record a tuple of values stands for (src/audit/record-tuple.ts):
 * exactly `auditRecordJson(fromTuple(t), omitBodies)` (a tuple holds no bodies), written from the
 * values in place, with no record object, key enumeration or key look-ups. Undefined for an array
 * that is not such a tuple (the caller then takes the general path).
 */
export function tupleRecordJson(t: readonly unknown[]): string | undefined {
  if (t.length !== TUPLE_KEYS.length) return undefined;
  let out = '{';
  let first = true;
  for (let i = 0; i < TUPLE_LAYOUT.length; i++) {
    const e = TUPLE_LAYOUT[i]!;
    const x = t[e.at];
    if (x === undefined) continue;
    let w = primitive(x);
    if (w === undefined) {
      const slot = e.slot;
      if (slot === undefined || typeof x !== 'object' || x === null) return undefined;
      w = 'object' in slot ? writeShape(x, slot.object, 0) : writeArray(x, slot.arrayOf);
      if (w === undefined) return undefined;
    }
    out += (first ? e.first : e.next) + w;
    first = false;
  }
  return out + '}';
}

/** JSON for a primitive as canonicalJson writes it; undefined for objects and unserialisable values. */
function primitive(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? 'null' : undefined;
    default:
      return undefined;
  }
}

/** `o` written with `s`'s layout, or undefined when the fast path cannot be sure of the bytes. */
function writeShape(o: object, s: Shape, omitMask: number): string | undefined {
  if (Array.isArray(o) || o instanceof Date) return undefined;
  // for-in also yields inherited enumerable keys; where there can be some, each key is checked.
  const checkOwn = !ownKeysOnly(o);
  let present = 0;
  for (const k in o) {
    const i = s.index.get(k);
    if (i === undefined || (checkOwn && !isEnumerable.call(o, k))) return undefined;
    present |= 1 << i;
  }
  present &= ~omitMask;
  const rec = o as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (let i = 0; present !== 0; i++, present >>>= 1) {
    if ((present & 1) === 0) continue;
    const x = rec[s.keys[i] as string];
    if (x === undefined) continue;
    let w = primitive(x);
    if (w === undefined) {
      const slot = s.slots[i];
      if (slot === undefined || typeof x !== 'object' || x === null) return undefined;
      w = 'object' in slot ? writeShape(x, slot.object, 0) : writeArray(x, slot.arrayOf);
      if (w === undefined) return undefined;
    }
    out += (first ? s.first[i] : s.next[i]) + w;
    first = false;
  }
  return out + '}';
}

/** An array of primitives, or of objects of layout `of`; undefined when it is anything else. */
function writeArray(a: object, of: Shape | null): string | undefined {
  if (!Array.isArray(a)) return undefined;
  let out = '[';
  for (let i = 0; i < a.length; i++) {
    const x: unknown = a[i];
    let w = x === undefined ? 'null' : primitive(x);
    if (w === undefined) {
      if (of === null || typeof x !== 'object' || x === null) return undefined;
      w = writeShape(x, of, 0);
      if (w === undefined) return undefined;
    }
    out += i > 0 ? ',' + w : w;
  }
  return out + ']';
}
