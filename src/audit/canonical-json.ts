// Canonical JSON for hashing: object keys sorted by UTF-16 code units (JavaScript's default sort,
// as in RFC 8785), no whitespace, `undefined` members dropped, strings and numbers as
// JSON.stringify writes them. The same value always gives the same bytes, so the hash of a
// record does not depend on the order its fields were set in.

/** Serialises `value` canonically. Throws on cycles, BigInt and non-plain values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(v: unknown, seen: Set<object>): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      // JSON has no NaN/Infinity; null is what JSON.stringify writes for them.
      return Number.isFinite(v) ? JSON.stringify(v) : 'null';
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
    out = `[${obj.map((x) => (x === undefined ? 'null' : write(x, seen))).join(',')}]`;
  } else if (obj instanceof Date) {
    out = JSON.stringify(obj.toISOString());
  } else {
    const rec = obj as Record<string, unknown>;
    const keys = Object.keys(rec)
      .filter((k) => rec[k] !== undefined)
      .sort();
    out = `{${keys.map((k) => `${JSON.stringify(k)}:${write(rec[k], seen)}`).join(',')}}`;
  }
  seen.delete(obj);
  return out;
}
