// Secrets recognised by their context rather than their shape: an AWS secret access key (40
// base64 characters near an AWS key name or access key id) and generic `api_key = "…"`
// assignments, whose value must look random (Shannon entropy and mixed character classes).
import { at, isB64, isWord, mixedClasses } from './chars.js';
import { shannonEntropy } from './checksums.js';
import type { Detector, DetectorOptions, PiiMatch } from './types.js';

const AWS_CONTEXT = /aws.{0,24}secret|secret.?access.?key|secretaccesskey|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/i;
const AWS_LOOKBEHIND = 96;

/** AWS secret access key: exactly 40 of [A-Za-z0-9/+], not glued to more of them, after a key name or key id. */
export const awsSecretDetector: Detector = {
  name: 'aws-secret',
  types: ['aws-secret-key'],
  lookbehind: AWS_LOOKBEHIND,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    let i = from;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (!isB64(c) || isB64(at(text, i - 1, end))) {
        i++;
        continue;
      }
      const s = i;
      while (i < end && i - s <= 40 && isB64(text.charCodeAt(i))) i++;
      if (i >= end && !atEnd && i - s <= 40) return s;
      if (i - s === 40) {
        const n = at(text, i, end);
        if (n === -1 && !atEnd) return s;
        if (n !== 61 && awsLike(text.slice(s, i)) && AWS_CONTEXT.test(text.slice(Math.max(0, s - AWS_LOOKBEHIND), s))) {
          out.push({ type: 'aws-secret-key', start: s, end: i, confidence: 0.85 });
        }
      }
      // Skip the rest of an over-long run: no start inside it has a clean left boundary.
      while (i < end && isB64(text.charCodeAt(i))) i++;
    }
    return end;
  },
};

function awsLike(v: string): boolean {
  return mixedClasses(v) === 3 && shannonEntropy(v) >= 4;
}

// Key names that announce a secret; `public`/`publishable` keys and token counts are not secrets.
const KEY_WORDS = /(?:api[_.-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|access[_.-]?key|auth|credential|private[_.-]?key)/i;
const NOT_SECRET_KEY = /public|publishable|tokens$|_type$|max_|count|length|size|url$|uri$/i;
const MAX_KEY = 48;
const VALUE_MIN = 16;
const VALUE_MAX = 128;
const GENERIC_LOOKBEHIND = MAX_KEY + 8;

const valueChar = (c: number): boolean => isWord(c) || c === 45 || c === 43 || c === 47 || c === 46 || c === 126;
const keyChar = (c: number): boolean => isWord(c) || c === 45 || c === 46;
const quote = (c: number): boolean => c === 34 || c === 39 || c === 96;

/**
 * Generic assignment: `<name containing api_key/secret/token/password...> [quote] (= | :) [spaces]
 * [quote] <value>`; the match is the value only. `Authorization: Bearer <v>` reports <v>.
 */
export const genericSecretDetector: Detector = {
  name: 'generic-secret',
  types: ['generic-secret'],
  lookbehind: GENERIC_LOOKBEHIND,
  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    for (let q = from; q < end; q++) {
      const c = text.charCodeAt(q);
      if (c !== 61 && c !== 58) continue;
      const r = evaluate(text, q, end, atEnd);
      if (r === 'undecided') return q;
      if (r) out.push(r);
    }
    return end;
  },
};

function evaluate(text: string, q: number, end: number, atEnd: boolean): PiiMatch | null | 'undecided' {
  // The key name: optional closing quote and spaces before the separator.
  let k = q - 1;
  let spaces = 0;
  while (k >= 0 && text.charCodeAt(k) === 32 && spaces < 2) {
    k--;
    spaces++;
  }
  if (k >= 0 && quote(text.charCodeAt(k))) k--;
  const kEnd = k + 1;
  while (k >= 0 && kEnd - k <= MAX_KEY && keyChar(text.charCodeAt(k))) k--;
  const key = text.slice(k + 1, kEnd);
  if (key.length === 0 || kEnd - k > MAX_KEY || !KEY_WORDS.test(key) || NOT_SECRET_KEY.test(key)) return null;
  // `==` or `:=`-like runs and URLs (`https:`) are not assignments of a secret.
  let i = q + 1;
  if (at(text, i, end) === 61) i++;
  let sp = 0;
  while (i < end && text.charCodeAt(i) === 32 && sp < 3) {
    i++;
    sp++;
  }
  if (i >= end) return atEnd ? null : 'undecided';
  if (quote(text.charCodeAt(i))) i++;
  let r = valueRun(text, i, end, atEnd);
  if (r === 'undecided') return r;
  if (r - i === 6 && text.startsWith('Bearer', i) && at(text, r, end) === 32) {
    const v = r + 1;
    r = valueRun(text, v, end, atEnd);
    if (r === 'undecided') return r;
    i = v;
  }
  const len = r - i;
  if (len < VALUE_MIN || len > VALUE_MAX) return null;
  const v = text.slice(i, r);
  if (mixedClasses(v) < 2 || !/\d/.test(v) || shannonEntropy(v) < 3.3) return null;
  return { type: 'generic-secret', start: i, end: r, confidence: 0.7 };
}

/** End of a value: value characters, then at most two `=` of base64 padding. */
function valueRun(text: string, i: number, end: number, atEnd: boolean): number | 'undecided' {
  const s = i;
  while (i < end && i - s <= VALUE_MAX && valueChar(text.charCodeAt(i))) i++;
  for (let p = 0; p < 2 && i < end && i - s <= VALUE_MAX && text.charCodeAt(i) === 61; p++) i++;
  if (i >= end && !atEnd && i - s <= VALUE_MAX) return 'undecided';
  if (i < end && (valueChar(text.charCodeAt(i)) || text.charCodeAt(i) === 61)) return i - s > VALUE_MAX ? i : s;
  return i;
}
