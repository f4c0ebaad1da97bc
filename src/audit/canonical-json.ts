// Canonical JSON for hashing: object keys sorted by UTF-16 code units (JavaScript's default sort,
// as in RFC 8785), no whitespace, `undefined` members dropped, strings and numbers as
// JSON.stringify writes them. The same value always gives the same bytes, so the hash of a
// record does not depend on the order its fields were set in.

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
