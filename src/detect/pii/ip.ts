// IP addresses. IPv4: four decimal octets 0–255 without leading zeros, not part of a longer dotted
// run (version strings such as 1.2.3.4.5). IPv6: RFC 4291 text forms (with `::` and an embedded
// IPv4 tail), at least three groups so `a::b` in code is not an address. Private, loopback,
// link-local, shared, documentation, multicast and reserved ranges are skipped unless asked for.
import { at, isAlnum, isDigit, isHex, isWord } from './chars.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

function octet(text: string, i: number, end: number): [number, number] | null {
  let j = i;
  while (j < end && j - i < 4 && isDigit(text.charCodeAt(j))) j++;
  const n = j - i;
  if (n === 0 || n > 3) return null;
  if (n > 1 && text.charCodeAt(i) === 48) return null;
  const v = Number(text.slice(i, j));
  return v > 255 ? null : [v, j];
}

export function ipv4Private(o: number[]): boolean {
  const [a, b, c] = o as [number, number, number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  );
}

const v6Char = (c: number): boolean => isHex(c) || c === 58 || c === 46;

export const ipDetector: Detector = {
  name: 'ip',
  types: ['ip'],
  lookbehind: 2,
  scan(text: string, from: number, end: number, atEnd: boolean, o: DetectorOptions, out: PiiMatch[]): number {
    for (let s = from; s < end; s++) {
      const c = text.charCodeAt(s);
      if (!isHex(c) && c !== 58) continue;
      const p = at(text, s - 1, end);
      if (isWord(p) || p === 58 || p === 46) continue;
      if (isDigit(c)) {
        const r = v4(text, s, end, atEnd, o);
        if (r === 'undecided') return s;
        if (r) {
          out.push(r);
          continue;
        }
      }
      if (o.ipv6) {
        const r = v6(text, s, end, atEnd, o);
        if (r === 'undecided') return s;
        if (r) out.push(r);
      }
    }
    return end;
  },
};

function v4(text: string, s: number, end: number, atEnd: boolean, o: DetectorOptions): PiiMatch | null | 'undecided' {
  // Longest possible address is 15 characters plus one to see where it ends.
  if (s + 17 > end && !atEnd) {
    // Undecided only while the text so far can still be the start of an address.
    let i = s;
    while (i < end && (isDigit(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
    if (i >= end) return 'undecided';
  }
  const parts: number[] = [];
  let i = s;
  for (let k = 0; k < 4; k++) {
    const r = octet(text, i, end);
    if (!r) return null;
    parts.push(r[0]);
    i = r[1];
    if (k < 3) {
      if (at(text, i, end) !== 46) return null;
      i++;
    }
  }
  const n = at(text, i, end);
  if (isAlnum(n) || n === 95) return null;
  if (n === 46 && isDigit(at(text, i + 1, end))) return null;
  if (!o.ipPrivate && ipv4Private(parts)) return null;
  return { type: 'ip', start: s, end: i, confidence: 0.75 };
}

function v6(text: string, s: number, end: number, atEnd: boolean, o: DetectorOptions): PiiMatch | null | 'undecided' {
  let i = s;
  while (i < end && i - s <= 45 && v6Char(text.charCodeAt(i))) i++;
  if (i >= end && !atEnd && i - s <= 45) return 'undecided';
  if (i - s > 45 || isWord(at(text, i, end))) return null;
  let colons = 0;
  for (let k = s; k < i && colons < 2; k++) if (text.charCodeAt(k) === 58) colons++;
  if (colons < 2) return null;
  let e = i;
  // A sentence-ending dot or a colon after the address is punctuation.
  while (e > s && text.charCodeAt(e - 1) === 46) e--;
  if (text.charCodeAt(e - 1) === 58 && text.charCodeAt(e - 2) !== 58) e--;
  const a = text.slice(s, e).toLowerCase();
  const groups = parseV6(a);
  if (!groups) return null;
  if (!o.ipPrivate && ipv6Private(groups)) return null;
  return { type: 'ip', start: s, end: e, confidence: 0.75 };
}

/** The eight 16-bit groups of an IPv6 address in text form, or null. */
export function parseV6(a: string): number[] | null {
  const dbl = a.indexOf('::');
  if (dbl !== -1 && a.indexOf('::', dbl + 1) !== -1) return null;
  const side = (t: string): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    const ps = t.split(':');
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k]!;
      if (k === ps.length - 1 && p.includes('.')) {
        const q = p.split('.');
        if (q.length !== 4 || q.some((x) => !/^(?:0|[1-9]\d{0,2})$/.test(x) || Number(x) > 255)) return null;
        const n = q.map(Number) as [number, number, number, number];
        out.push((n[0] << 8) | n[1], (n[2] << 8) | n[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  if (dbl === -1) {
    const g = side(a);
    return g && g.length === 8 ? g : null;
  }
  const l = side(a.slice(0, dbl));
  const r = side(a.slice(dbl + 2));
  if (!l || !r || l.length + r.length > 7 || l.length + r.length < 3) return null;
  return [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
}

function ipv6Private(g: number[]): boolean {
  const a = g[0]!;
  if (g.every((x, k) => (k < 7 ? x === 0 : x <= 1))) return true; // :: and ::1
  if ((a & 0xffc0) === 0xfe80 || (a & 0xfe00) === 0xfc00 || (a & 0xff00) === 0xff00) return true;
  if (a === 0x2001 && g[1] === 0x0db8) return true;
  // IPv4-mapped ::ffff:a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return ipv4Private([g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255]);
  }
  return false;
}
