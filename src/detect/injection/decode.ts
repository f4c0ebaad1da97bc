// Encoded segments hidden in a text (base64, base64url, hex, \x escapes, percent-encoding), decoded
// so the detector can scan what the model would read once it follows "decode this and do it".
// Only segments that decode to mostly printable text count; hashes, keys and binary blobs do not.

export type Encoding = 'base64' | 'hex' | 'percent';

export interface DecodedSegment {
  encoding: Encoding;
  /** Offset of the encoded segment in the input. */
  index: number;
  text: string;
}

const MAX_SEGMENTS = 8;
const MAX_DECODED = 64 * 1024;

const BASE64 = /[A-Za-z0-9+/_-]{20,}={0,2}/g;
const HEX = /(?:\\x[0-9a-fA-F]{2}){8,}|(?:[0-9a-fA-F]{2}[ :]?){12,}/g;
const PERCENT = /(?:%[0-9a-fA-F]{2}){6,}/g;

/** Share of printable characters (letters, digits, punctuation, whitespace) in a decoded string. */
function printable(s: string): number {
  if (s.length === 0) return 0;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || (c >= 0xa0 && c !== 0xfffd)) ok++;
  }
  return ok / s.length;
}

function textOf(bytes: Buffer): string | null {
  if (bytes.length < 8) return null;
  const s = bytes.toString('utf8');
  // Decoded prose has spaces; random-looking identifiers that happen to decode do not.
  if (printable(s) < 0.95 || !/[a-zA-Z]{2,}\s+[a-zA-Z]{2,}/.test(s)) return null;
  return s;
}

/** Decodes the encoded segments of `input` that turn into readable text (at most 8, 64 KiB in all). */
export function decodeSegments(input: string): DecodedSegment[] {
  const out: DecodedSegment[] = [];
  let budget = MAX_DECODED;
  const add = (encoding: Encoding, index: number, text: string | null): boolean => {
    if (text === null) return true;
    out.push({ encoding, index, text: text.slice(0, budget) });
    budget -= Math.min(budget, text.length);
    return out.length < MAX_SEGMENTS && budget > 0;
  };
  for (const m of input.matchAll(BASE64)) {
    const seg = m[0];
    // Mixed case or digits: plain long words ("internationalisation") are not base64.
    if (!/[A-Z]/.test(seg) || !/[a-z]/.test(seg)) continue;
    const std = seg.replace(/-/g, '+').replace(/_/g, '/');
    if (!add('base64', m.index ?? 0, textOf(Buffer.from(std, 'base64')))) return out;
  }
  for (const m of input.matchAll(HEX)) {
    const hex = m[0].replace(/\\x|[ :]/g, '');
    if (!/[a-fA-F]/.test(hex) && !/\\x/.test(m[0])) continue;
    if (!add('hex', m.index ?? 0, textOf(Buffer.from(hex.length % 2 ? hex.slice(0, -1) : hex, 'hex')))) return out;
  }
  for (const m of input.matchAll(PERCENT)) {
    let s: string | null = null;
    try {
      s = textOf(Buffer.from(decodeURIComponent(m[0]), 'utf8'));
    } catch {
      s = null;
    }
    if (!add('percent', m.index ?? 0, s)) return out;
  }
  return out;
}
