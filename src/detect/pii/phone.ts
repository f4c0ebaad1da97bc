// Phone numbers: international form (+CC …, E.164 up to 15 digits), North American formats
// ((415) 555-0134, 415-555-0134), and other national forms only when a word such as "phone", "tel"
// or "call" comes shortly before: digit runs alone are too common (order numbers, amounts) to flag.
import { at, contextHas, isAlnum, isDigit, isWord } from './chars.js';
import { digitStart } from './numbers.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

const LOOKBEHIND = 32;
const MAX_SPAN = 26;
const CONTEXT = /phone|\btel\b|tel[:.]|mobile|\bcell|\bfax|whatsapp|\bsms\b|\bcall|contact|telefon|t[ée]l[ée]phone|telefono|m[óo]vil|\bhandy/i;
const NANP = /^(?:1[ .-]?)?(?:\([2-9]\d\d\) ?|[2-9]\d\d[-.])[2-9]\d\d[-.]\d{4}$/;

/** Cheap pre-check: every context word contains one of these letters (any case). */
function mayHaveContext(text: string, s: number): boolean {
  for (let i = Math.max(0, s - LOOKBEHIND); i < s; i++) {
    const c = text.charCodeAt(i) | 32;
    if (c === 112 || c === 116 || c === 109 || c === 99 || c === 102 || c === 119 || c === 104) return true;
  }
  return false;
}

const isSep = (c: number): boolean => c === 32 || c === 45 || c === 46;

function startsHere(text: string, s: number, end: number): boolean {
  const c = at(text, s, end);
  const p = at(text, s - 1, end);
  if (c === 43 || c === 40) return !isWord(p) && p !== 43 && p !== 40;
  return digitStart(text, s, end);
}

export const phoneDetector: Detector = {
  name: 'phone',
  types: ['phone'],
  lookbehind: LOOKBEHIND,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    for (let s = from; s < end; s++) {
      const c = text.charCodeAt(s);
      if (c !== 43 && c !== 40 && !isDigit(c)) continue;
      if (!startsHere(text, s, end)) continue;
      const r = evaluate(text, s, end, atEnd);
      if (r === 'undecided') return s;
      if (r) out.push(r);
    }
    return end;
  },
};

function evaluate(text: string, s: number, end: number, atEnd: boolean): PiiMatch | null | 'undecided' {
  let i = s;
  const plus = text.charCodeAt(s) === 43;
  if (plus) {
    i++;
    const d = at(text, i, end);
    if (d === -1) return atEnd ? null : 'undecided';
    if (d < 49 || d > 57) return null;
  }
  let digits = 0;
  let last = -1;
  for (;;) {
    if (i - s > MAX_SPAN || digits > 15) return null;
    if (i >= end) {
      if (!atEnd) return 'undecided';
      break;
    }
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      while (i < end && isDigit(text.charCodeAt(i)) && digits <= 15) {
        i++;
        digits++;
      }
      last = i;
    } else if (c === 40) {
      // (area) — one to four digits in parentheses.
      let j = i + 1;
      while (j < end && j - i <= 5 && isDigit(text.charCodeAt(j))) j++;
      if (j >= end) {
        if (!atEnd) return 'undecided';
        break;
      }
      if (text.charCodeAt(j) !== 41 || j - i - 1 < 1 || j - i - 1 > 4) break;
      digits += j - i - 1;
      i = j + 1;
      last = i;
    } else {
      break;
    }
    // One separator, then the number continues only with a digit or a parenthesis.
    const n = at(text, i, end);
    if (n === -1) {
      if (!atEnd) return 'undecided';
      break;
    }
    if (n === 40) continue;
    if (!isSep(n)) break;
    const n2 = at(text, i + 1, end);
    if (n2 === -1) {
      if (!atEnd) return 'undecided';
      break;
    }
    if (!isDigit(n2) && n2 !== 40) break;
    i++;
  }
  if (last === -1 || digits < 7 || digits > 15) return null;
  if (isAlnum(at(text, last, end))) return null;
  if (plus && digits < 8) return null;
  const nanp = !plus && last - s >= 12 && last - s <= 16 && NANP.test(text.slice(s, last));
  const ctx = mayHaveContext(text, s) && contextHas(text, s, LOOKBEHIND, CONTEXT);
  if (plus) return { type: 'phone', start: s, end: last, confidence: ctx ? 0.9 : 0.8 };
  if (nanp) return { type: 'phone', start: s, end: last, confidence: ctx ? 0.9 : 0.7 };
  if (ctx) return { type: 'phone', start: s, end: last, confidence: text.charCodeAt(s) === 48 && digits >= 9 ? 0.7 : 0.6 };
  return null;
}
