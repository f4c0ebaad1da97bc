// E-mail addresses: local part (letters, digits, . _ % + -, at most 64) @ domain (labels of letters,
// digits and hyphens, at most 253 in all) ending in an alphabetic top-level domain of two or more
// letters. The '@' is the anchor; the match starts where the local part starts.
import { at, isAlnum, isAlpha } from './chars.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

const localChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const labelChar = (c: number): boolean => isAlnum(c) || c === 45;

export const emailDetector: Detector = {
  name: 'email',
  types: ['email'],
  lookbehind: MAX_LOCAL + 2,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    let a = text.indexOf('@', from);
    while (a !== -1 && a < end) {
      // Start of the local part: walk back over local-part characters.
      let s = a;
      while (s > 0 && a - s <= MAX_LOCAL && localChar(text.charCodeAt(s - 1))) s--;
      if (s >= from && a - s >= 1 && a - s <= MAX_LOCAL && !localChar(at(text, s - 1, end))) {
        const r = evaluate(text, s, a, end, atEnd);
        if (r === 'undecided') return s;
        if (r) out.push(r);
      }
      a = text.indexOf('@', a + 1);
    }
    if (!atEnd) {
      // A local part running into the end of the text may still meet an '@'.
      let s = end;
      while (s > from && end - s <= MAX_LOCAL && localChar(text.charCodeAt(s - 1))) s--;
      if (s < end && end - s <= MAX_LOCAL && !localChar(at(text, s - 1, end))) return s;
    }
    return end;
  },
};

function evaluate(text: string, s: number, a: number, end: number, atEnd: boolean): PiiMatch | null | 'undecided' {
  const local = text.slice(s, a);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return null;
  let i = a + 1;
  let lastDot = -1;
  let labels = 0;
  for (;;) {
    const l0 = i;
    while (i < end && i - l0 <= 63 && labelChar(text.charCodeAt(i))) i++;
    if (i >= end && !atEnd) return 'undecided';
    if (i === l0 || i - l0 > 63 || i - a - 1 > MAX_DOMAIN) return null;
    labels++;
    const c = at(text, i, end);
    if (c !== 46) break;
    const n = at(text, i + 1, end);
    if (n === -1 && !atEnd) return 'undecided';
    if (!labelChar(n)) break;
    lastDot = i;
    i++;
  }
  if (labels < 2 || lastDot === -1) return null;
  // Glued to more address-like text: not an address we can delimit.
  const after = at(text, i, end);
  if (after === 64 || after === 95) return null;
  const tld = text.slice(lastDot + 1, i);
  if (tld.length < 2 || !(/^[A-Za-z]+$/.test(tld) || tld.startsWith('xn--'))) return null;
  if (!isAlpha(tld.charCodeAt(0))) return null;
  return { type: 'email', start: s, end: i, confidence: 0.9 };
}
