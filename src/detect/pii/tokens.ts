// API keys and tokens of major providers, recognised by their documented prefixes and shapes.
// Each spec: literal prefixes, the character set and length range of what follows, and an optional
// check on the body. A match must not be glued to other token characters on either side, so a key
// inside a longer identifier is not reported, and an over-long run is not a key.
import { at, isAlnum, isB64, isDigit, isUpper, mixedClasses } from './chars.js';
import type { Detector, DetectorOptions, PiiMatch, PiiType } from './types.js';

interface TokenSpec {
  type: PiiType;
  prefixes: string[];
  body: (c: number) => boolean;
  min: number;
  max: number;
  /** Confidence for a body (null: not this token). */
  check?: (body: string) => number | null;
  confidence: number;
  /** The match covers the body only (the prefix is a field name, e.g. `AccountKey=`). */
  valueOnly?: boolean;
  /** Characters that may not precede the prefix (default: letters and digits). */
  leftGlue?: (c: number) => boolean;
}

const b64url = (c: number): boolean => isAlnum(c) || c === 45 || c === 95;
const alnum = isAlnum;
const glueKey = (c: number): boolean => isAlnum(c) || c === 45 || c === 95;

export const TOKEN_SPECS: TokenSpec[] = [
  {
    // sk-… (legacy, 48 characters with the T3BlbkFJ marker), sk-proj-, sk-svcacct-, sk-admin-.
    type: 'openai-key',
    prefixes: ['sk-'],
    body: b64url,
    min: 20,
    max: 250,
    confidence: 0.8,
    leftGlue: glueKey,
    check: (b) => {
      if (b.startsWith('ant-')) return null;
      if (mixedClasses(b) < 3) return null;
      return /^(?:proj|svcacct|admin)-/.test(b) || b.includes('T3BlbkFJ') ? 0.95 : 0.8;
    },
  },
  { type: 'anthropic-key', prefixes: ['sk-ant-'], body: b64url, min: 32, max: 250, confidence: 0.95, leftGlue: glueKey },
  {
    type: 'aws-access-key-id',
    prefixes: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    body: (c) => isUpper(c) || isDigit(c),
    min: 16,
    max: 16,
    confidence: 0.9,
  },
  {
    type: 'github-token',
    prefixes: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    body: alnum,
    min: 36,
    max: 251,
    confidence: 0.95,
    leftGlue: glueKey,
  },
  { type: 'github-token', prefixes: ['github_pat_'], body: (c) => isAlnum(c) || c === 95, min: 40, max: 251, confidence: 0.95, leftGlue: glueKey },
  {
    type: 'gitlab-token',
    prefixes: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'gloas-'],
    body: (c) => b64url(c) || c === 46,
    min: 20,
    max: 300,
    confidence: 0.9,
    leftGlue: glueKey,
  },
  {
    type: 'slack-token',
    prefixes: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'xoxe-', 'xapp-'],
    body: (c) => isAlnum(c) || c === 45,
    min: 10,
    max: 255,
    confidence: 0.9,
    leftGlue: glueKey,
    check: (b) => (/\d/.test(b) ? 0.9 : null),
  },
  {
    type: 'stripe-key',
    prefixes: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
    body: alnum,
    min: 16,
    max: 255,
    confidence: 0.95,
    leftGlue: glueKey,
  },
  { type: 'google-api-key', prefixes: ['AIza'], body: b64url, min: 35, max: 35, confidence: 0.9, leftGlue: glueKey },
  {
    type: 'huggingface-token',
    prefixes: ['hf_', 'api_org_'],
    body: alnum,
    min: 30,
    max: 40,
    confidence: 0.85,
    leftGlue: glueKey,
    check: (b) => (mixedClasses(b) >= 2 ? 0.85 : null),
  },
  { type: 'npm-token', prefixes: ['npm_'], body: alnum, min: 36, max: 36, confidence: 0.9, leftGlue: glueKey },
  {
    type: 'twilio-key',
    prefixes: ['SK'],
    body: (c) => isDigit(c) || (c >= 97 && c <= 102),
    min: 32,
    max: 32,
    confidence: 0.75,
  },
  {
    // SG.<22>.<43>
    type: 'sendgrid-key',
    prefixes: ['SG.'],
    body: (c) => b64url(c) || c === 46,
    min: 66,
    max: 66,
    confidence: 0.95,
    leftGlue: glueKey,
    check: (b) => (b.charCodeAt(22) === 46 && b.indexOf('.', 23) === -1 ? 0.95 : null),
  },
  {
    // Azure storage connection strings: AccountKey=<base64 of 64 bytes>.
    type: 'azure-storage-key',
    prefixes: ['AccountKey='],
    body: (c) => isB64(c) || c === 61,
    min: 40,
    max: 100,
    confidence: 0.9,
    valueOnly: true,
    check: (b) => (mixedClasses(b) >= 3 ? 0.9 : null),
  },
];

class TokenDetector implements Detector {
  readonly name: string;
  readonly types: readonly PiiType[];
  readonly lookbehind = 1;
  constructor(private readonly spec: TokenSpec) {
    this.name = `token:${spec.type}:${spec.prefixes[0]}`;
    this.types = [spec.type];
  }

  scan(text: string, from: number, end: number, atEnd: boolean, _o: DetectorOptions, out: PiiMatch[]): number {
    const s = this.spec;
    // A prefix glued to a token character is inside a longer run: not a start (this also keeps
    // the scan linear on runs of repeated prefixes).
    const own = s.leftGlue ?? isAlnum;
    const glue = (c: number): boolean => own(c) || (c !== -1 && s.body(c));
    let undecided = end;
    const found: { anchor: number; m: PiiMatch }[] = [];
    for (const prefix of s.prefixes) {
      let p = text.indexOf(prefix, from);
      while (p !== -1 && p < end && p < undecided) {
        if (!glue(at(text, p - 1, end))) {
          const r = this.at(text, p, prefix.length, end, atEnd);
          if (r === 'undecided') {
            undecided = p;
            break;
          }
          if (r) found.push({ anchor: p, m: r });
        }
        p = text.indexOf(prefix, p + 1);
      }
      // A prefix cut by the end of the text so far may still become a token.
      if (!atEnd) {
        for (let k = Math.min(prefix.length - 1, end - from); k >= 1; k--) {
          const q = end - k;
          if (q < undecided && text.startsWith(prefix.slice(0, k), q) && !glue(at(text, q - 1, end))) {
            undecided = q;
            break;
          }
        }
      }
    }
    // Report only what was anchored before the first undecided start: the next scan resumes there.
    for (const f of found) if (f.anchor < undecided) out.push(f.m);
    return undecided;
  }

  private at(text: string, p: number, plen: number, end: number, atEnd: boolean): PiiMatch | null | 'undecided' {
    const s = this.spec;
    const b0 = p + plen;
    let i = b0;
    const limit = b0 + s.max;
    while (i < end && i <= limit && s.body(text.charCodeAt(i))) i++;
    if (i >= end && !atEnd && i <= limit) return 'undecided';
    const len = i - b0;
    if (len < s.min || len > s.max) return null;
    const body = text.slice(b0, i);
    const conf = s.check ? s.check(body) : s.confidence;
    if (conf === null) return null;
    return { type: s.type, start: s.valueOnly ? b0 : p, end: i, confidence: conf };
  }
}

export function tokenDetectors(): Detector[] {
  return TOKEN_SPECS.map((s) => new TokenDetector(s));
}
