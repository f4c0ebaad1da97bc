// Text normalisation before injection detection: NFKC (full-width and mathematical letters become
// ASCII), invisible characters removed and counted, Unicode tag characters decoded (they carry
// hidden ASCII: "ASCII smuggling"), Cyrillic/Greek look-alikes folded to Latin inside words that
// mix scripts, and a leetspeak variant for phrase matching. One pass over the code points.

export interface Normalized {
  /** NFKC text with invisible characters removed and confusables folded, lower-cased. */
  text: string;
  /** Zero-width and other invisible format characters found (benign emoji/script joiners excluded). */
  invisible: number;
  /** Bidirectional override/isolate controls (U+202A–202E, U+2066–2069). */
  bidi: number;
  /** ASCII hidden in tag characters (U+E0020–E007E) outside emoji flag sequences. */
  tags: string;
  /** Look-alike letters folded inside mixed-script words. */
  confusables: number;
}

// Cyrillic, Greek and other letters that render like Latin ones (lower-case; input is lower-cased first).
const CONFUSABLE: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  і: 'i', ї: 'i', ј: 'j', ѕ: 's', ԁ: 'd', һ: 'h', ӏ: 'l', ԛ: 'q', ԝ: 'w', ɡ: 'g', ɑ: 'a', ᴦ: 'r',
  α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ϲ: 'c', ı: 'i',
};

const isLatin = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** Zero-width and invisible format characters an attacker uses to split or hide words. */
function isInvisible(c: number): boolean {
  return (
    c === 0x200b || c === 0x200c || c === 0x200d || c === 0x2060 || c === 0x2061 || c === 0x2062 ||
    c === 0x2063 || c === 0x2064 || c === 0xfeff || c === 0x00ad || c === 0x180e || c === 0x034f ||
    (c >= 0xfe00 && c <= 0xfe0f)
  );
}

const isBidi = (c: number): boolean => (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);

/** Emoji-ish code point: a zero-width joiner or variation selector next to one is legitimate. */
const isPictographic = (c: number): boolean => (c >= 0x1f000 && c <= 0x1faff) || (c >= 0x2600 && c <= 0x27bf);

/** Letters of scripts that legitimately use ZWNJ/ZWJ (Arabic, Persian, Indic). */
const isJoiningScript = (c: number): boolean => (c >= 0x0600 && c <= 0x06ff) || (c >= 0x0900 && c <= 0x0dff);

// Printable ASCII only: nothing to fold, decode or remove (the common case, kept cheap).
const PLAIN_ASCII = /^[\x20-\x7e\t\n\r]*$/;

export function normalize(input: string): Normalized {
  if (PLAIN_ASCII.test(input)) return { text: input.toLowerCase(), invisible: 0, bidi: 0, tags: '', confusables: 0 };
  const nfkc = input.normalize('NFKC').toLowerCase();
  let out = '';
  let invisible = 0;
  let bidi = 0;
  let tags = '';
  let confusables = 0;
  let prev = 0; // previous visible code point
  let inFlag = false; // inside a U+1F3F4 tag sequence (subdivision flags)
  // Word-level confusable folding: collect the current word and decide at its end.
  let word = '';
  let wordLatin = false;
  let wordConf = 0;
  const flushWord = (): void => {
    if (word === '') return;
    if (wordConf > 0 && wordLatin) {
      let folded = '';
      for (const ch of word) folded += CONFUSABLE[ch] ?? ch;
      out += folded;
      confusables += wordConf;
    } else {
      out += word;
    }
    word = '';
    wordLatin = false;
    wordConf = 0;
  };
  for (let i = 0; i < nfkc.length; i++) {
    let c = nfkc.charCodeAt(i);
    let ch = nfkc[i] as string;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < nfkc.length) {
      const d = nfkc.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        ch = nfkc.slice(i, i + 2);
        i++;
      }
    }
    if (c >= 0xe0000 && c <= 0xe007f) {
      if (c === 0xe007f) inFlag = false;
      else if (!(inFlag || prev === 0x1f3f4) && c >= 0xe0020 && c <= 0xe007e) tags += String.fromCharCode(c - 0xe0000);
      else if (prev === 0x1f3f4) inFlag = true;
      continue;
    }
    if (isInvisible(c)) {
      const next = nfkc.codePointAt(i + 1) ?? 0;
      const benign =
        ((c === 0x200d || (c >= 0xfe00 && c <= 0xfe0f)) && (isPictographic(prev) || isPictographic(next))) ||
        ((c === 0x200c || c === 0x200d) && (isJoiningScript(prev) || isJoiningScript(next)));
      if (!benign) invisible++;
      continue;
    }
    if (isBidi(c)) {
      bidi++;
      continue;
    }
    prev = c;
    const conf = CONFUSABLE[ch];
    if (conf !== undefined || isLatin(c)) {
      word += ch;
      if (conf !== undefined) wordConf++;
      else wordLatin = true;
      continue;
    }
    if (c < 128) {
      // Digits stay inside a word ("ign0re"); any other ASCII character ends it.
      if (!(c >= 48 && c <= 57)) flushWord();
      if (word !== '') word += ch;
      else out += ch;
      continue;
    }
    flushWord();
    out += ch;
  }
  flushWord();
  return { text: out, invisible, bidi, tags, confusables };
}

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i', '|': 'l' };

/**
 * Leetspeak folded inside words that mix letters and leet symbols ("1gn0r3" → "ignore"); numbers on
 * their own stay as they are. Returns the input unchanged (same string) when nothing was folded.
 */
export function deleet(text: string): string {
  if (!/[a-z][0-9@$!|]|[0-9@$|][a-z]/.test(text)) return text;
  return text.replace(/[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*/g, (w) => (/[0-9@$!|]/.test(w) ? w.replace(/[0-9@$!|]/g, (d) => LEET[d] ?? d) : w));
}

/** ROT13 of the ASCII letters. */
export function rot13(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) out += String.fromCharCode(((c - 97 + 13) % 26) + 97);
    else if (c >= 65 && c <= 90) out += String.fromCharCode(((c - 65 + 13) % 26) + 65);
    else out += text[i];
  }
  return out;
}
