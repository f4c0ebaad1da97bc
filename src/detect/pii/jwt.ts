// JSON Web Tokens (RFC 7519) in compact form: three base64url parts (five for JWE) separated by
// dots, whose first part decodes to a JSON object with a string `alg`. The base64 of `{"` is `eyJ`,
// which is the anchor.
import { at } from './chars.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

const ANCHOR = 'eyJ';
const MAX_PART = 3000;
/** Longest JWT reported; longer runs are not treated as tokens. */
export const JWT_MAX = 5 * MAX_PART;

const partChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
const glue = (c: number): boolean => partChar(c) || c === 46;

export const jwtDetector: Detector = {
  name: 'jwt',
  types: ['jwt'],
  lookbehind: 1,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    let p = text.indexOf(ANCHOR, from);
    while (p !== -1 && p < end) {
      if (!glue(at(text, p - 1, end))) {
        const r = evaluate(text, p, end, atEnd);
        if (r === 'undecided') return p;
        if (r) out.push(r);
      }
      p = text.indexOf(ANCHOR, p + 1);
    }
    if (!atEnd) {
      for (let k = Math.min(ANCHOR.length - 1, end - from); k >= 1; k--) {
        const q = end - k;
        if (text.startsWith(ANCHOR.slice(0, k), q) && !glue(at(text, q - 1, end))) return q;
      }
    }
    return end;
  },
};

function evaluate(text: string, p: number, end: number, atEnd: boolean): PiiMatch | null | 'undecided' {
  const parts: [number, number][] = [];
  let i = p;
  for (;;) {
    const s = i;
    while (i < end && i - s <= MAX_PART && partChar(text.charCodeAt(i))) i++;
    if (i >= end && !atEnd) return 'undecided';
    if (i - s > MAX_PART) return null;
    parts.push([s, i]);
    const c = at(text, i, end);
    if (c !== 46 || parts.length === 5) break;
    // A dot at the very end may be followed by another part, or be a full stop.
    if (i + 1 >= end && !atEnd) return 'undecided';
    if (!partChar(at(text, i + 1, end)) && parts.length >= 3) break;
    i++;
  }
  if (parts.length !== 3 && parts.length !== 5) return null;
  const [h0, h1] = parts[0]!;
  if (h1 - h0 < 10 || parts[1]![1] - parts[1]![0] < 2) return null;
  if (!headerHasAlg(text.slice(h0, h1))) return null;
  return { type: 'jwt', start: p, end: parts[parts.length - 1]![1], confidence: 0.95 };
}

function headerHasAlg(b64: string): boolean {
  if (b64.length > 2048) return false;
  try {
    const h = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8')) as unknown;
    return typeof h === 'object' && h !== null && !Array.isArray(h) && typeof (h as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}
