// Number parsing straight from bytes for the common decimal forms (`-12.5`, `3e-4`), falling back to
// JavaScript's own parser for anything else. The fast path is exact: an integer mantissa below 2^53
// divided or multiplied by a power of ten up to 1e22 (both exact doubles) rounds once, correctly.
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** A finite number, NaN when the bytes are not a number, or undefined when the field is empty/blank. */
export function parseNumberBytes(buf: Uint8Array, s: number, e: number): number | undefined {
  while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
  while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
  if (s === e) return undefined;
  let i = s;
  let neg = false;
  if (buf[i] === 0x2d || buf[i] === 0x2b) {
    neg = buf[i] === 0x2d;
    i++;
  }
  let mant = 0;
  let digits = 0;
  let frac = 0;
  let sawDot = false;
  for (; i < e; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mant = mant * 10 + (c - 0x30);
      digits++;
      if (sawDot) frac++;
    } else if (c === 0x2e && !sawDot) sawDot = true;
    else break;
  }
  if (digits === 0) return slowParse(buf, s, e);
  let exp = 0;
  if (i < e && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let eneg = false;
    if (buf[i] === 0x2d || buf[i] === 0x2b) {
      eneg = buf[i] === 0x2d;
      i++;
    }
    let ed = 0;
    for (; i < e; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) break;
      exp = exp * 10 + (c - 0x30);
      ed++;
      if (exp > 400) return slowParse(buf, s, e);
    }
    if (ed === 0) return NaN;
    if (eneg) exp = -exp;
  }
  if (i !== e) return slowParse(buf, s, e);
  if (digits > 15) return slowParse(buf, s, e);
  const p = exp - frac;
  let v: number;
  if (p === 0) v = mant;
  else if (p > 0 && p <= 22) v = mant * POW10[p]!;
  else if (p < 0 && p >= -22) v = mant / POW10[-p]!;
  else return slowParse(buf, s, e);
  return neg ? -v : v;
}

function slowParse(buf: Uint8Array, s: number, e: number): number | undefined {
  const str = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1').trim();
  if (str === '') return NaN;
  const low = str.toLowerCase();
  // A literal NaN is how pandas and numpy write a missing value.
  if (low === 'nan' || low === '+nan' || low === '-nan' || low === 'na' || low === 'null') return undefined;
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  // Number() accepts hex, binary and '' which a data file does not mean as numbers.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(str)) return NaN;
  return Number(str);
}

/** Same rules for a string (JSON Lines values that arrive as strings). */
export function parseNumberString(str: string): number | undefined {
  const b = Buffer.from(str, 'latin1');
  return parseNumberBytes(b, 0, b.length);
}
