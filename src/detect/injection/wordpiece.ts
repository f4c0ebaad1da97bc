// BERT WordPiece tokenizer for the optional transformer stage: basic tokenisation (control
// characters dropped, CJK characters split, optional lower-casing and accent stripping, split on
// punctuation), then greedy longest-match-first sub-words with the `##` continuation prefix.
// Built from a vocab.txt (one token a line, id = line number) or a tokenizer.json WordPiece model.

export interface WordPieceOptions {
  lowerCase?: boolean;
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  continuationPrefix?: string;
  maxCharsPerWord?: number;
}

const isPunct = (c: number, ch: string): boolean =>
  (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) || /\p{P}/u.test(ch);

const isCjk = (c: number): boolean =>
  (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  private readonly o: Required<WordPieceOptions>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;

  constructor(vocab: ReadonlyMap<string, number>, opts: WordPieceOptions = {}) {
    this.vocab = vocab;
    this.o = {
      lowerCase: opts.lowerCase ?? true,
      unkToken: opts.unkToken ?? '[UNK]',
      clsToken: opts.clsToken ?? '[CLS]',
      sepToken: opts.sepToken ?? '[SEP]',
      padToken: opts.padToken ?? '[PAD]',
      continuationPrefix: opts.continuationPrefix ?? '##',
      maxCharsPerWord: opts.maxCharsPerWord ?? 100,
    };
    const need = (t: string): number => {
      const id = vocab.get(t);
      if (id === undefined) throw new Error(`the vocabulary has no ${t} token`);
      return id;
    };
    this.unkId = need(this.o.unkToken);
    this.clsId = need(this.o.clsToken);
    this.sepId = need(this.o.sepToken);
    this.padId = vocab.get(this.o.padToken) ?? 0;
  }

  /** From the text of a BERT vocab.txt. */
  static fromVocabTxt(text: string, opts: WordPieceOptions = {}): WordPieceTokenizer {
    const vocab = new Map<string, number>();
    text.split(/\r?\n/).forEach((line, i) => {
      if (line !== '' && !vocab.has(line)) vocab.set(line, i);
    });
    return new WordPieceTokenizer(vocab, opts);
  }

  /** From a parsed tokenizer.json whose model is WordPiece. */
  static fromTokenizerJson(json: unknown, opts: WordPieceOptions = {}): WordPieceTokenizer {
    const j = json as { model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number }; normalizer?: { lowercase?: boolean } | null };
    if (!j?.model || j.model.type !== 'WordPiece' || typeof j.model.vocab !== 'object') throw new Error('tokenizer.json does not hold a WordPiece model');
    const vocab = new Map<string, number>(Object.entries(j.model.vocab).filter(([, v]) => Number.isInteger(v)));
    return new WordPieceTokenizer(vocab, {
      ...(j.model.unk_token ? { unkToken: j.model.unk_token } : {}),
      ...(j.model.continuing_subword_prefix ? { continuationPrefix: j.model.continuing_subword_prefix } : {}),
      ...(j.model.max_input_chars_per_word ? { maxCharsPerWord: j.model.max_input_chars_per_word } : {}),
      ...(typeof j.normalizer?.lowercase === 'boolean' ? { lowerCase: j.normalizer.lowercase } : {}),
      ...opts,
    });
  }

  /** Basic tokenisation: words and punctuation marks. */
  basic(text: string): string[] {
    let t = text;
    if (this.o.lowerCase) t = t.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    const out: string[] = [];
    let cur = '';
    const flush = (): void => {
      if (cur !== '') out.push(cur);
      cur = '';
    };
    for (const ch of t) {
      const c = ch.codePointAt(0) as number;
      if (c === 0 || c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13) || (c >= 0x7f && c <= 0x9f)) continue;
      if (/\s/.test(ch)) flush();
      else if (isCjk(c) || isPunct(c, ch)) {
        flush();
        out.push(ch);
      } else cur += ch;
    }
    flush();
    return out;
  }

  /** WordPiece ids of a text, without [CLS]/[SEP]. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    const pre = this.o.continuationPrefix;
    for (const word of this.basic(text)) {
      const chars = Array.from(word);
      if (chars.length > this.o.maxCharsPerWord) {
        ids.push(this.unkId);
        continue;
      }
      const pieces: number[] = [];
      let start = 0;
      let bad = false;
      while (start < chars.length) {
        let end = chars.length;
        let found = -1;
        while (start < end) {
          const sub = (start > 0 ? pre : '') + chars.slice(start, end).join('');
          const id = this.vocab.get(sub);
          if (id !== undefined) {
            found = id;
            break;
          }
          end--;
        }
        if (found < 0) {
          bad = true;
          break;
        }
        pieces.push(found);
        start = end;
      }
      if (bad) ids.push(this.unkId);
      else ids.push(...pieces);
    }
    return ids;
  }

  /**
   * Model inputs for a text: [CLS] ids [SEP], split into windows of at most `maxLength` tokens
   * (with a quarter overlap) so the end of a long tool result is classified too; at most
   * `maxWindows` windows (the first ones and the last one).
   */
  windows(text: string, maxLength = 512, maxWindows = 8): number[][] {
    const body = this.tokenize(text);
    const size = Math.max(1, maxLength - 2);
    if (body.length <= size) return [[this.clsId, ...body, this.sepId]];
    const step = Math.max(1, Math.floor((size * 3) / 4));
    const starts: number[] = [];
    for (let s = 0; s < body.length; s += step) {
      starts.push(Math.min(s, body.length - size));
      if (s + size >= body.length) break;
    }
    const chosen = starts.length <= maxWindows ? starts : [...starts.slice(0, maxWindows - 1), starts[starts.length - 1] as number];
    return chosen.map((s) => [this.clsId, ...body.slice(s, s + size), this.sepId]);
  }
}
