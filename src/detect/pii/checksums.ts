// Check-digit algorithms of the identifiers the detectors validate. Each takes the bare characters
// (no separators) and answers whether the check passes. Sources are named per function; the
// implementations are written from those specifications.

const d0 = 48;

function digitAt(s: string, i: number): number {
  return s.charCodeAt(i) - d0;
}

/** Luhn (ISO/IEC 7812-1 annex B): payment cards, Swedish personnummer. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digitAt(digits, i);
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Luhn check digit to append to `digits` (for generating samples). */
export function luhnCheckDigit(digits: string): number {
  for (let c = 0; c < 10; c++) if (luhnValid(digits + c)) return c;
  return 0;
}

/** Remainder of a long decimal string modulo 97, computed piecewise (ISO 7064 MOD 97-10). */
export function mod97(numeric: string): number {
  let r = 0;
  for (let i = 0; i < numeric.length; i += 7) r = Number(String(r) + numeric.slice(i, i + 7)) % 97;
  return r;
}

/**
 * IBAN check (ISO 13616-1): move the first four characters to the end, letters to 10..35, and the
 * number modulo 97 must be 1. `iban` is upper-case without spaces.
 */
export function ibanValid(iban: string): boolean {
  const r = iban.slice(4) + iban.slice(0, 4);
  let n = '';
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (c >= 48 && c <= 57) n += r[i];
    else if (c >= 65 && c <= 90) n += String(c - 55);
    else return false;
  }
  return mod97(n) === 1;
}

// Verhoeff (J. Verhoeff, 1969; dihedral group D5): Indian Aadhaar numbers (UIDAI).
const VD = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VP = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

export function verhoeffValid(digits: string): boolean {
  let c = 0;
  for (let i = 0; i < digits.length; i++) c = VD[c]![VP[i % 8]![digitAt(digits, digits.length - 1 - i)]!]!;
  return c === 0;
}

export function verhoeffCheckDigit(digits: string): number {
  let c = 0;
  for (let i = 0; i < digits.length; i++) c = VD[c]![VP[(i + 1) % 8]![digitAt(digits, digits.length - 1 - i)]!]!;
  return VINV[c]!;
}

const CN_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_CHECK = '10X98765432';

/** Check character of a Chinese resident identity number (GB 11643-1999, ISO 7064 MOD 11-2). */
export function cnRidCheck(first17: string): string {
  let s = 0;
  for (let i = 0; i < 17; i++) s += digitAt(first17, i) * CN_WEIGHTS[i]!;
  return CN_CHECK[s % 11]!;
}

/** Brazilian CPF (Receita Federal): two mod-11 check digits; repeated-digit numbers are invalid. */
export function cpfValid(d: string): boolean {
  if (d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
  return cpfCheckDigits(d.slice(0, 9)) === d.slice(9);
}

export function cpfCheckDigits(first9: string): string {
  let s = 0;
  for (let i = 0; i < 9; i++) s += digitAt(first9, i) * (10 - i);
  const a = ((s * 10) % 11) % 10;
  s = 0;
  for (let i = 0; i < 9; i++) s += digitAt(first9, i) * (11 - i);
  s += a * 2;
  const b = ((s * 10) % 11) % 10;
  return `${a}${b}`;
}

/** Dutch BSN "elfproef" (11-proof): 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11), not all zeros. */
export function bsnValid(d: string): boolean {
  if (d.length !== 9 || d === '000000000') return false;
  let s = 0;
  for (let i = 0; i < 8; i++) s += digitAt(d, i) * (9 - i);
  s -= digitAt(d, 8);
  return s % 11 === 0;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Letter of a Spanish DNI (8 digits) or NIE (X/Y/Z → 0/1/2, then 7 digits): number mod 23 (Real Decreto 1553/2005). */
export function dniLetter(number8: string): string {
  return DNI_LETTERS[Number(number8) % 23]!;
}

/**
 * French NIR (numéro de sécurité sociale, INSEE): key = 97 − (first 13 digits mod 97); Corsican
 * departments 2A and 2B count as 19 and 18.
 */
export function nirKey(first13: string): number {
  const n = first13.replace('2A', '19').replace('2B', '18');
  return 97 - mod97(n);
}

// Italian codice fiscale (Decreto ministeriale 12/03/1974, Agenzia delle Entrate): characters in odd
// positions (1-based) map through ODD, even ones to their value; the sum mod 26 is the check letter.
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

function cfValue(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c - 65;
}

export function cfCheckChar(first15: string): string {
  let s = 0;
  for (let i = 0; i < 15; i++) {
    const v = cfValue(first15.charCodeAt(i));
    s += i % 2 === 0 ? CF_ODD[v]! : v;
  }
  return String.fromCharCode(65 + (s % 26));
}

/** Shannon entropy of a string in bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
