// Identifiers written as one run of letters and digits: IBAN (also in the printed form with a space
// every four characters), UK National Insurance numbers, Spanish DNI/NIE, Italian codice fiscale
// and Chinese resident identity numbers.
import { at, isAlnum, isAlpha, isDigit, isUpper, isWord } from './chars.js';
import { cfCheckChar, cnRidCheck, dniLetter, ibanValid } from './checksums.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

const MAX_RUN = 34;

/** IBAN length per country (SWIFT IBAN Registry). */
export const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27,
  MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

const upperOrDigit = (c: number): boolean => isUpper(c) || isDigit(c);

export const wordsDetector: Detector = {
  name: 'words',
  types: ['iban', 'uk-nino', 'es-dni', 'it-cf', 'cn-rid'],
  lookbehind: 1,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    let s = from;
    while (s < end) {
      const c = text.charCodeAt(s);
      if (!isAlnum(c) || isWord(at(text, s - 1, end))) {
        s++;
        continue;
      }
      let e = s;
      let digit = false;
      while (e < end && e - s <= MAX_RUN) {
        const x = text.charCodeAt(e);
        if (isDigit(x)) digit = true;
        else if (!isAlpha(x)) break;
        e++;
      }
      if (e >= end && !atEnd && e - s <= MAX_RUN) return s;
      // Every identifier here has a digit, except the first run ("AB") of a spaced NINO.
      if ((digit || (e - s === 2 && isUpper(c))) && e - s <= MAX_RUN && at(text, e, end) !== 95) {
        const r = evaluate(text, s, e, end, atEnd, out);
        if (r === 'undecided') return s;
      }
      // No start inside a run: its characters are glued to the one before.
      while (e < end && isWord(text.charCodeAt(e))) e++;
      s = e;
    }
    return end;
  },
};

function evaluate(text: string, s: number, e: number, end: number, atEnd: boolean, out: PiiMatch[]): void | 'undecided' {
  const w = text.slice(s, e);
  const L = w.length;
  if (L === 9) {
    if (/^\d{8}[A-Z]$/.test(w) && dniLetter(w.slice(0, 8)) === w[8]) out.push({ type: 'es-dni', start: s, end: e, confidence: 0.85 });
    else if (/^[XYZ]\d{7}[A-Z]$/.test(w) && dniLetter(String('XYZ'.indexOf(w[0]!)) + w.slice(1, 8)) === w[8]) {
      out.push({ type: 'es-dni', start: s, end: e, confidence: 0.85 });
    } else if (/^[A-Z]{2}\d{6}[A-D]$/.test(w) && ninoPrefixValid(w)) out.push({ type: 'uk-nino', start: s, end: e, confidence: 0.8 });
    return;
  }
  if (L === 8 && /^\d{8}$/.test(w) && at(text, e, end) === 45) {
    // 12345678-Z
    for (let k = 1; k <= 2; k++) if (e + k >= end && !atEnd) return 'undecided';
    const l = at(text, e + 1, end);
    if (isUpper(l) && !isAlnum(at(text, e + 2, end)) && dniLetter(w) === String.fromCharCode(l)) {
      out.push({ type: 'es-dni', start: s, end: e + 2, confidence: 0.85 });
    }
    return;
  }
  if (L === 16) {
    if (/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(w) && cfCheckChar(w) === w[15]) {
      out.push({ type: 'it-cf', start: s, end: e, confidence: 0.9 });
    }
  }
  if (L === 18 && /^[1-8]\d{16}[\dX]$/.test(w) && cnRidDateValid(w) && cnRidCheck(w) === w[17]) {
    out.push({ type: 'cn-rid', start: s, end: e, confidence: 0.9 });
    return;
  }
  if (L === 2 && /^[A-Z]{2}$/.test(w) && at(text, e, end) === 32) return ninoSpaced(text, s, e, end, atEnd, out);
  if (L >= 4 && /^[A-Z]{2}\d{2}/.test(w)) {
    const want = IBAN_LENGTHS[w.slice(0, 2)];
    if (want === undefined) return;
    if (L === want && /^[A-Z0-9]+$/.test(w) && ibanValid(w)) out.push({ type: 'iban', start: s, end: e, confidence: 0.95 });
    else if (L === 4 && at(text, e, end) === 32) return ibanSpaced(text, s, e, end, atEnd, want, out);
  }
}

function ninoPrefixValid(w: string): boolean {
  const a = w[0]!;
  const b = w[1]!;
  if ('DFIQUV'.includes(a) || 'DFIOQUV'.includes(b)) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(a + b);
}

/** AB 12 34 56 C */
function ninoSpaced(text: string, s: number, e: number, end: number, atEnd: boolean, out: PiiMatch[]): void | 'undecided' {
  const shape = ' dd dd dd L';
  for (let k = 0; k <= shape.length; k++) {
    const c = at(text, e + k, end);
    if (c === -1 && e + k >= end && !atEnd) return 'undecided';
    if (k === shape.length) {
      if (isAlnum(c)) return;
      break;
    }
    const want = shape[k];
    if (want === ' ' ? c !== 32 : want === 'd' ? !isDigit(c) : c < 65 || c > 68) return;
  }
  const w = text.slice(s, e) + text.slice(e, e + shape.length).replace(/ /g, '');
  if (ninoPrefixValid(w)) out.push({ type: 'uk-nino', start: s, end: e + shape.length, confidence: 0.8 });
}

/** DE89 3704 0044 0532 0130 00 */
function ibanSpaced(text: string, s: number, e: number, end: number, atEnd: boolean, want: number, out: PiiMatch[]): void | 'undecided' {
  let total = 4;
  let i = e;
  let compact = text.slice(s, e);
  while (total < want) {
    if (i >= end) return atEnd ? undefined : 'undecided';
    if (text.charCodeAt(i) !== 32) return;
    let j = i + 1;
    while (j < end && j - i <= 5 && upperOrDigit(text.charCodeAt(j))) j++;
    if (j >= end && !atEnd) return 'undecided';
    const n = j - i - 1;
    if (n === 0 || n > 4 || total + n > want || isAlnum(at(text, j, end))) return;
    if (n < 4 && total + n < want) return;
    compact += text.slice(i + 1, j);
    total += n;
    i = j;
  }
  if (ibanValid(compact)) out.push({ type: 'iban', start: s, end: i, confidence: 0.95 });
}

function cnRidDateValid(w: string): boolean {
  const y = Number(w.slice(6, 10));
  const m = Number(w.slice(10, 12));
  const d = Number(w.slice(12, 14));
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}
