// PEM private keys (RFC 7468 labels: PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA/DSA/EC PRIVATE KEY,
// OPENSSH PRIVATE KEY, PGP PRIVATE KEY BLOCK, ...): from the BEGIN line to the first END line after
// it. A key whose END line does not come within PEM_CAP characters is reported up to the cap and
// marked truncated (fail closed: a streamed key is never released because it is long).
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

export const PEM_CAP = 16 * 1024;
const BEGIN = '-----BEGIN ';
const END = '-----END ';
const MAX_LABEL = 48;

function labelChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 32;
}

/** End of the label run starting at i (at most MAX_LABEL + 1 characters). */
function labelEnd(text: string, i: number, end: number): number {
  const l0 = i;
  while (i < end && i - l0 <= MAX_LABEL && labelChar(text.charCodeAt(i))) i++;
  return i;
}

export const pemDetector: Detector = {
  name: 'pem',
  types: ['private-key'],
  lookbehind: 0,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    // Position of the next END marker at or after a point; BEGINs come in order, so one pointer
    // suffices and the whole scan stays linear.
    let nextEnd = -2;
    const endAfter = (pos: number): number => {
      if (nextEnd === -2 || (nextEnd !== -1 && nextEnd < pos)) nextEnd = text.indexOf(END, pos);
      return nextEnd;
    };
    let p = text.indexOf(BEGIN, from);
    while (p !== -1 && p < end) {
      const r = evaluate(text, p, end, atEnd, endAfter);
      if (r === 'undecided') return p;
      if (r) out.push(r);
      p = text.indexOf(BEGIN, p + 1);
    }
    if (!atEnd) {
      for (let k = Math.min(BEGIN.length - 1, end - from); k >= 1; k--) {
        if (text.startsWith(BEGIN.slice(0, k), end - k)) return end - k;
      }
    }
    return end;
  },
};

function evaluate(
  text: string,
  p: number,
  end: number,
  atEnd: boolean,
  endAfter: (pos: number) => number,
): PiiMatch | null | 'undecided' {
  const l0 = p + BEGIN.length;
  const l1 = labelEnd(text, l0, end);
  if (l1 >= end && !atEnd) return 'undecided';
  if (!/PRIVATE KEY(?: BLOCK)?$/.test(text.slice(l0, l1))) return null;
  for (let k = 0; k < 5; k++) {
    if (l1 + k >= end) {
      if (!atEnd) return 'undecided';
      return null;
    }
    if (text.charCodeAt(l1 + k) !== 45) return null;
  }
  const capEnd = p + PEM_CAP;
  const q = endAfter(l1 + 5);
  if (q !== -1 && q < Math.min(end, capEnd)) {
    // The END line: label, then up to five dashes.
    const e0 = labelEnd(text, q + END.length, end);
    let e = e0;
    while (e < end && e - e0 < 5 && text.charCodeAt(e) === 45) e++;
    if (e >= end && e - e0 < 5 && !atEnd) return 'undecided';
    if (e <= capEnd) return { type: 'private-key', start: p, end: e, confidence: 1 };
  }
  if (capEnd <= end) return { type: 'private-key', start: p, end: capEnd, confidence: 1, truncated: true };
  if (!atEnd) return 'undecided';
  return { type: 'private-key', start: p, end, confidence: 1, truncated: true };
}
