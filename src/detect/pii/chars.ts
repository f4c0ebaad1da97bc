// Character classes on UTF-16 code units, shared by the detectors (plain comparisons: no regex on
// the hot path, no backtracking).

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
export const isUpper = (c: number): boolean => c >= 65 && c <= 90;
export const isLower = (c: number): boolean => c >= 97 && c <= 122;
export const isAlpha = (c: number): boolean => isUpper(c) || isLower(c);
export const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
/** Letters, digits and `_`: what a programming-language identifier is made of. */
export const isWord = (c: number): boolean => isAlnum(c) || c === 95;
export const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** base64url alphabet. */
export const isB64Url = (c: number): boolean => isAlnum(c) || c === 45 || c === 95;
/** standard base64 alphabet without padding. */
export const isB64 = (c: number): boolean => isAlnum(c) || c === 43 || c === 47;

/** Code unit at i, or -1 outside the text (so boundary checks read "no character"). */
export function at(text: string, i: number, end: number): number {
  return i >= 0 && i < end ? text.charCodeAt(i) : -1;
}

/** True when the lower-cased window of `len` characters before `pos` contains one of the words. */
export function contextHas(text: string, pos: number, len: number, re: RegExp): boolean {
  const from = Math.max(0, pos - len);
  return re.test(text.slice(from, pos));
}

/** Upper, lower and digit present (random keys have all three with overwhelming probability). */
export function mixedClasses(s: string): number {
  let u = 0;
  let l = 0;
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isUpper(c)) u = 1;
    else if (isLower(c)) l = 1;
    else if (isDigit(c)) d = 1;
  }
  return u + l + d;
}
