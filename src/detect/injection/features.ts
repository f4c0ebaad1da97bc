// Hashed n-gram features of a normalised text: word unigrams and bigrams, character 3- and
// 4-grams (whitespace collapsed), counted with sublinear weighting and L2-normalised. No
// vocabulary to ship: each n-gram lands in one of 2^bits buckets by FNV-1a hash.

export interface SparseVector {
  idx: Uint32Array;
  val: Float64Array;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Scratch space reused across calls (single-threaded; no call re-enters). */
let scratch = new Float64Array(0);
let touched = new Int32Array(4096);
let nTouched = 0;
let mask = 0;

function bump(h: number): void {
  const i = h & mask;
  if (scratch[i] === 0) {
    if (nTouched === touched.length) {
      const t = new Int32Array(touched.length * 2);
      t.set(touched);
      touched = t;
    }
    touched[nTouched++] = i;
  }
  scratch[i] = (scratch[i] as number) + 1;
}

/** Features of `text` (already lower-cased and normalised) into 2^bits buckets. */
export function hashFeatures(text: string, bits: number): SparseVector {
  const size = 1 << bits;
  mask = size - 1;
  if (scratch.length !== size) scratch = new Float64Array(size);
  nTouched = 0;
  // Words: runs of letters/digits (any script); bigrams joined with a separator that cannot occur.
  let prevWord = 0;
  let hasPrev = false;
  let h = FNV_OFFSET;
  let inWord = false;
  // Character n-grams over the text with runs of whitespace collapsed to one space.
  const ring = [32, 32, 32, 32];
  let pos = 0;
  let lastSpace = true;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    const word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c > 127 || c === 39;
    if (word) {
      h = Math.imul(h ^ c, FNV_PRIME);
      inWord = true;
    } else if (inWord) {
      bump(h);
      if (hasPrev) bump(Math.imul(prevWord ^ 0x9e3779b9, FNV_PRIME) ^ h);
      prevWord = h;
      hasPrev = true;
      h = FNV_OFFSET;
      inWord = false;
    }
    if (!word && c !== 32 && c !== 10 && c !== 9 && c !== 13) {
      // Punctuation is its own unigram token (":", "<", "|" matter here).
      bump(Math.imul(FNV_OFFSET ^ (c + 0x10000), FNV_PRIME));
    }
    const space = c === 32 || c === 10 || c === 9 || c === 13;
    if (space && lastSpace) continue;
    lastSpace = space;
    const cc = space ? 32 : c;
    ring[pos & 3] = cc;
    pos++;
    if (pos >= 3) {
      const a = ring[(pos - 3) & 3] as number;
      const b = ring[(pos - 2) & 3] as number;
      const d = ring[(pos - 1) & 3] as number;
      const h3 = Math.imul(Math.imul(Math.imul(0x2545f491 ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ d, FNV_PRIME);
      bump(h3);
      if (pos >= 4) {
        const z = ring[(pos - 4) & 3] as number;
        bump(Math.imul(Math.imul(Math.imul(Math.imul(0x68e31da4 ^ z, FNV_PRIME) ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ d, FNV_PRIME));
      }
    }
  }
  // Buckets in first-seen order (deterministic for a given text; no sort needed for a dot product).
  const idx = new Uint32Array(nTouched);
  const val = new Float64Array(nTouched);
  let norm = 0;
  for (let k = 0; k < nTouched; k++) {
    const i = touched[k] as number;
    const v = 1 + Math.log(scratch[i] as number);
    scratch[i] = 0;
    idx[k] = i;
    val[k] = v;
    norm += v * v;
  }
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let k = 0; k < val.length; k++) val[k] = (val[k] as number) * inv;
  }
  return { idx, val };
}
