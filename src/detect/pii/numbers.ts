// Numbers written as digit groups: payment cards and the numeric national identifiers. A start is
// the first digit of a group not glued to a letter, digit or decimal point before it; the groups
// that follow (single space, dash or dot between them) are read up to GROUP_SPAN characters, and each
// identifier checks its layouts, ranges and check digits on a prefix of those groups.
import { at, contextHas, isAlnum, isDigit, isWord } from './chars.js';
import { bsnValid, cpfValid, luhnValid, nirKey, verhoeffValid } from './checksums.js';
import type { Detector, DetectorOptions, PiiMatch, PiiType } from './types.js';

const GROUP_SPAN = 32;
const LOOKBEHIND = 40;

interface Groups {
  /** [start, end) of each digit group. */
  g: [number, number][];
  /** separator after each group but the last (code unit). */
  sep: number[];
}

const isSep = (c: number): boolean => c === 32 || c === 45 || c === 46;

/** A start: a digit whose previous character is not a word character, nor a `.`/`,` after a digit. */
export function digitStart(text: string, s: number, end: number): boolean {
  if (!isDigit(at(text, s, end))) return false;
  const p = at(text, s - 1, end);
  if (isWord(p)) return false;
  if ((p === 46 || p === 44) && isDigit(at(text, s - 2, end))) return false;
  return true;
}

/** Most groups any layout uses (French NIR: 1 2 2 2 3 3 2) and most digits of any identifier. */
const MAX_GROUPS = 7;
const MAX_DIGITS = 19;

/**
 * Reads up to MAX_GROUPS digit groups from s (stopping early past MAX_DIGITS digits); 'undecided'
 * when the text so far ends inside them.
 */
export function readGroups(text: string, s: number, end: number, atEnd: boolean): Groups | 'undecided' {
  const g: [number, number][] = [];
  const sep: number[] = [];
  let i = s;
  let digits = 0;
  for (;;) {
    const g0 = i;
    while (i < end && i - s < GROUP_SPAN && isDigit(text.charCodeAt(i))) i++;
    if (i >= end && !atEnd) return 'undecided';
    if (i - s >= GROUP_SPAN) {
      // Too long to be an identifier in full; keep what fits, the last group only if it ended.
      if (i >= end || !isDigit(text.charCodeAt(i))) g.push([g0, i]);
      break;
    }
    g.push([g0, i]);
    digits += i - g0;
    if (i >= end || g.length === MAX_GROUPS || digits > MAX_DIGITS) break;
    const c = text.charCodeAt(i);
    if (!isSep(c)) break;
    if (i + 1 >= end) {
      if (!atEnd) return 'undecided';
      break;
    }
    if (!isDigit(text.charCodeAt(i + 1))) break;
    sep.push(c);
    i++;
  }
  return { g, sep };
}

const len = (x: [number, number]): number => x[1] - x[0];

/** True when the characters after group k do not glue it to a word (e.g. `1234abc`). */
function endsClean(text: string, gr: Groups, k: number, end: number): boolean {
  return !isAlnum(at(text, gr.g[k]![1], end));
}

function sameSep(gr: Groups, k: number): boolean {
  for (let j = 1; j < k; j++) if (gr.sep[j] !== gr.sep[0]) return false;
  return true;
}

function layout(gr: Groups, k: number): string {
  let s = '';
  for (let j = 0; j <= k; j++) s += (j ? '-' : '') + len(gr.g[j]!);
  return s;
}

// Issuer identification number ranges and lengths per network (ISO/IEC 7812; networks' published
// ranges): [prefix low, prefix high, lengths].
const IIN: [number, number, number[]][] = [
  [4, 4, [13, 16, 19]], // Visa
  [51, 55, [16]], // Mastercard
  [2221, 2720, [16]], // Mastercard 2-series
  [34, 34, [15]], // American Express
  [37, 37, [15]],
  [6011, 6011, [16, 17, 18, 19]], // Discover
  [644, 649, [16, 17, 18, 19]],
  [65, 65, [16, 17, 18, 19]],
  [3528, 3589, [16, 17, 18, 19]], // JCB
  [300, 305, [14, 15, 16, 17, 18, 19]], // Diners Club
  [36, 36, [14, 15, 16, 17, 18, 19]],
  [38, 39, [16, 17, 18, 19]],
  [62, 62, [16, 17, 18, 19]], // UnionPay
  [2200, 2204, [16, 17, 18, 19]], // Mir
  [5018, 5018, [13, 14, 15, 16, 17, 18, 19]], // Maestro
  [5020, 5020, [13, 14, 15, 16, 17, 18, 19]],
  [5038, 5038, [13, 14, 15, 16, 17, 18, 19]],
  [5893, 5893, [13, 14, 15, 16, 17, 18, 19]],
  [6304, 6304, [13, 14, 15, 16, 17, 18, 19]],
  [6759, 6759, [13, 14, 15, 16, 17, 18, 19]],
  [6761, 6763, [13, 14, 15, 16, 17, 18, 19]],
  [60, 60, [16]], // RuPay
  [81, 82, [16]],
  [508, 508, [16]],
];

export function cardIinValid(d: string): boolean {
  for (const [lo, hi, lens] of IIN) {
    const w = String(lo).length;
    const p = Number(d.slice(0, w));
    if (p >= lo && p <= hi && lens.includes(d.length)) return true;
  }
  return false;
}

const CARD_LAYOUTS = /^(?:\d+|4-4-4-[1-4]|4-4-4-4-[1-3]|4-6-[45])$/;

const SSN_CONTEXT = /ssn|social security|soc\.? ?sec/i;
const BSN_CONTEXT = /bsn|burgerservice|sofi/i;
const CPF_CONTEXT = /cpf/i;
const AADHAAR_CONTEXT = /aadhaa?r|uidai|\buid\b/i;
const SE_CONTEXT = /personnummer|person(?:al)? ?(?:id|number)|pnr/i;

function push(out: PiiMatch[], type: PiiType, s: number, gr: Groups, k: number, confidence: number): void {
  out.push({ type, start: s, end: gr.g[k]![1], confidence });
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[m - 1]!;
}

/** Swedish personnummer: YYMMDD or YYYYMMDD (day + 60 for a samordningsnummer), NNN, Luhn digit. */
function sePnrValid(d: string): boolean {
  const ten = d.length === 12 ? d.slice(2) : d;
  const m = Number(ten.slice(2, 4));
  let day = Number(ten.slice(4, 6));
  if (day > 60) day -= 60;
  const year = d.length === 12 ? Number(d.slice(0, 4)) : 2000;
  if (d.length === 12 && (year < 1880 || year > 2100)) return false;
  return validDate(year, m, day) && luhnValid(ten);
}

/** US SSN structure (SSA): area 001–899 except 666, group 01–99, serial 0001–9999. */
export function ssnValid(d: string): boolean {
  const a = Number(d.slice(0, 3));
  const g = Number(d.slice(3, 5));
  const s = Number(d.slice(5));
  if (a === 0 || a === 666 || a >= 900 || g === 0 || s === 0) return false;
  // Numbers published in advertising and never valid.
  return d !== '078051120' && d !== '219099999';
}

/** French NIR: sex 1/2 (7/8 provisional), month 01–12 or 20–42/50–99 (unknown), key = 97 − n mod 97. */
export function nirValid(d: string): boolean {
  if (d.length !== 15 || !'1278'.includes(d[0]!)) return false;
  const m = Number(d.slice(3, 5));
  if (!((m >= 1 && m <= 12) || (m >= 20 && m <= 42) || m >= 50)) return false;
  return nirKey(d.slice(0, 13)) === Number(d.slice(13));
}

function evaluate(text: string, s: number, gr: Groups, end: number, out: PiiMatch[]): void {
  const n = gr.g.length;
  let count = 0;
  for (let k = 0; k < n; k++) count += gr.g[k]![1] - gr.g[k]![0];
  if (count < 9) return;
  let digits = '';
  for (let k = 0; k < n && k < MAX_GROUPS; k++) {
    digits += text.slice(gr.g[k]![0], gr.g[k]![1]);
    if (digits.length < 9) continue;
    if (digits.length > MAX_DIGITS) break;
    if (!endsClean(text, gr, k, end)) continue;
    const lay = layout(gr, k);
    const uniform = sameSep(gr, k);
    const dl = digits.length;
    // Payment cards.
    if (dl >= 13 && dl <= 19 && uniform && CARD_LAYOUTS.test(lay) && gr.sep[0] !== 46 && cardIinValid(digits) && luhnValid(digits)) {
      push(out, 'card', s, gr, k, 0.9);
    }
    // US SSN: 3-2-4 with dashes or spaces, or 9 digits after "SSN".
    if (dl === 9 && ssnValid(digits)) {
      if (lay === '3-2-4' && uniform && gr.sep[0] !== 46) {
        const ctx = contextHas(text, s, LOOKBEHIND, SSN_CONTEXT);
        push(out, 'us-ssn', s, gr, k, gr.sep[0] === 45 ? (ctx ? 0.95 : 0.8) : ctx ? 0.9 : 0.6);
      } else if (lay === '9' && contextHas(text, s, LOOKBEHIND, SSN_CONTEXT)) push(out, 'us-ssn', s, gr, k, 0.75);
    }
    // Dutch BSN: 9 digits (or 4.2.3) passing the 11-proof, named in the context.
    if (dl === 9 && (lay === '9' || lay === '4-2-3') && bsnValid(digits) && contextHas(text, s, LOOKBEHIND, BSN_CONTEXT)) {
      push(out, 'nl-bsn', s, gr, k, 0.85);
    }
    // Swedish personnummer: YYMMDD-NNNC, YYYYMMDD-NNNC, or 12 digits.
    if ((lay === '6-4' || lay === '8-4') && gr.sep[0] === 45 && sePnrValid(digits)) push(out, 'se-pnr', s, gr, k, 0.85);
    else if (lay === '12' && sePnrValid(digits)) push(out, 'se-pnr', s, gr, k, 0.65);
    else if (lay === '10' && sePnrValid(digits) && contextHas(text, s, LOOKBEHIND, SE_CONTEXT)) push(out, 'se-pnr', s, gr, k, 0.7);
    // Indian Aadhaar: 12 digits, first 2–9, Verhoeff check digit.
    if (dl === 12 && (lay === '12' || (lay === '4-4-4' && uniform)) && digits[0]! >= '2' && verhoeffValid(digits)) {
      const ctx = contextHas(text, s, LOOKBEHIND, AADHAAR_CONTEXT);
      push(out, 'in-aadhaar', s, gr, k, ctx ? 0.9 : lay === '12' ? 0.55 : 0.75);
    }
    // Brazilian CPF: 000.000.000-00 or 11 digits.
    if (dl === 11 && cpfValid(digits)) {
      if (lay === '3-3-3-2' && gr.sep[0] === 46 && gr.sep[1] === 46 && gr.sep[2] === 45) push(out, 'br-cpf', s, gr, k, 0.9);
      else if (lay === '11') push(out, 'br-cpf', s, gr, k, contextHas(text, s, LOOKBEHIND, CPF_CONTEXT) ? 0.85 : 0.5);
    }
    // French NIR: 15 digits, or 1 23 45 67 890 123 45.
    if (dl === 15 && (lay === '15' || (lay === '1-2-2-2-3-3-2' && uniform && gr.sep[0] === 32)) && nirValid(digits)) {
      push(out, 'fr-nir', s, gr, k, 0.85);
    }
  }
}

function nineDigitsAhead(text: string, s: number, end: number, atEnd: boolean): boolean {
  let d = 0;
  for (let i = s; i < s + 18; i++) {
    if (i >= end) return !atEnd;
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      if (++d === 9) return true;
    } else if (!isSep(c)) return false;
  }
  return false;
}

export const numbersDetector: Detector = {
  name: 'numbers',
  types: ['card', 'us-ssn', 'nl-bsn', 'se-pnr', 'in-aadhaar', 'br-cpf', 'fr-nir'],
  lookbehind: LOOKBEHIND,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    for (let s = from; s < end; s++) {
      if (!digitStart(text, s, end)) continue;
      // Fewer than nine digits in the next 2·9 characters cannot make any identifier: skip the read.
      if (!nineDigitsAhead(text, s, end, atEnd)) continue;
      const gr = readGroups(text, s, end, atEnd);
      if (gr === 'undecided') return s;
      evaluate(text, s, gr, end, out);
    }
    return end;
  },
};
