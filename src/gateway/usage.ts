// Token-usage accounting from upstream responses: OpenAI `usage` objects in JSON bodies and in
// Server-Sent-Events streams (chat/completions chunks with `stream_options.include_usage`, and the
// Responses API's `response.completed` event). The SSE scanner splits a byte stream into events
// incrementally, so the proxy can forward each event as soon as it is complete.
import { StringDecoder } from 'node:string_decoder';
import type { TokenUsage } from '../core/types.js';

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Normalises an OpenAI usage object (chat/completions/embeddings or Responses API shape). */
export function normalizeUsage(u: unknown): TokenUsage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const prompt = num(o.prompt_tokens) ?? num(o.input_tokens);
  const completion = num(o.completion_tokens) ?? num(o.output_tokens) ?? 0;
  const total = num(o.total_tokens);
  if (prompt === undefined && total === undefined) return null;
  const p = prompt ?? 0;
  return { promptTokens: p, completionTokens: completion, totalTokens: total ?? p + completion };
}

/** Usage from a parsed (non-streamed) OpenAI response body. */
export function usageFromJson(body: unknown): TokenUsage | null {
  if (!body || typeof body !== 'object') return null;
  const o = body as Record<string, unknown>;
  return normalizeUsage(o.usage) ?? (o.response && typeof o.response === 'object' ? normalizeUsage((o.response as Record<string, unknown>).usage) : null);
}

/** How far from its end a JSON body is searched for its `usage` member before it is parsed whole. */
const TAIL_WINDOW = 4096;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const USAGE_KEY = ascii('usage');
/** The members normalizeUsage reads. */
const USAGE_FIELDS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens'] as const;
const USAGE_FIELD_KEYS = USAGE_FIELDS.map(ascii);

function wsBack(b: Buffer, i: number, stop: number): number {
  while (i >= stop) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i--;
  }
  return i;
}

/** Index of the quote opening the string whose closing quote is at `close`, or -1. */
function stringStartBack(b: Buffer, close: number, stop: number): number {
  for (let j = close - 1; j >= stop; j--) {
    if (b[j] !== QUOTE) continue;
    // A quote after an odd run of backslashes is escaped; a run that reaches the window's edge is unknown.
    let k = j - 1;
    while (k >= stop && b[k] === BACKSLASH) k--;
    if (k < stop && k < j - 1) return -1;
    if ((j - 1 - k) % 2 === 0) return j;
  }
  return -1;
}

/** A byte of a JSON number or of true / false / null. */
function literalByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x45;
}

/** Index of the first byte of the JSON value whose last byte is at `end`, or -1. */
function valueStartBack(b: Buffer, end: number, stop: number): number {
  const c = b[end]!;
  if (c === QUOTE) return stringStartBack(b, end, stop);
  if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
    let depth = 1;
    for (let j = end - 1; j >= stop; j--) {
      const x = b[j]!;
      if (x === QUOTE) {
        j = stringStartBack(b, j, stop);
        if (j < 0) return -1;
      } else if (x === CLOSE_BRACE || x === CLOSE_BRACKET) depth++;
      else if ((x === OPEN_BRACE || x === OPEN_BRACKET) && --depth === 0) return j;
    }
    return -1;
  }
  let j = end;
  while (j >= stop && literalByte(b[j]!)) j--;
  return j === end || j < stop ? -1 : j + 1;
}

/** The JSON number (or literal) at b[start..end], as JSON.parse reads it; plain digit runs without a string. */
function numberAt(b: Buffer, start: number, end: number): number {
  if (end - start < 15) {
    let n = 0;
    let k = start;
    for (; k <= end; k++) {
      const c = b[k]!;
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + (c - 0x30);
    }
    if (k > end) return n;
  }
  return Number(b.toString('latin1', start, end + 1));
}

function keyIs(b: Buffer, keyStart: number, keyEnd: number, key: readonly number[]): boolean {
  if (keyEnd - keyStart - 1 !== key.length) return false;
  for (let n = 0; n < key.length; n++) if (b[keyStart + 1 + n] !== key[n]) return false;
  return true;
}

/**
 * Walks the members of an object from the last to the first: `next()` finds the member before the
 * previous one and sets its key's quotes and its value's first and last byte. No closure and no
 * allocation per member.
 */
class MembersBack {
  keyStart = 0;
  keyEnd = 0;
  start = 0;
  end = 0;
  private i = 0;
  private stop = 0;
  private first = true;

  constructor(private b: Buffer) {}

  /** Walks the object whose closing brace is at `close`, reading no byte before `stop`. */
  reset(b: Buffer, close: number, stop: number): this {
    this.b = b;
    this.i = close - 1;
    this.stop = stop;
    this.first = true;
    return this;
  }

  /**
   * 1: a member was found; 0: the opening brace was reached; -1: the bytes are not as expected, or
   * a key holds a backslash (escapes could spell a key differently).
   */
  next(): number {
    const { b, stop } = this;
    let i = wsBack(b, this.i, stop);
    if (i < stop) return -1;
    if (b[i] === OPEN_BRACE) return 0;
    // Members after the last are preceded by a comma.
    if (!this.first) {
      if (b[i] !== COMMA) return -1;
      i = wsBack(b, i - 1, stop);
      if (i < stop) return -1;
    }
    this.first = false;
    const end = i;
    const start = valueStartBack(b, end, stop);
    if (start < 0) return -1;
    i = wsBack(b, start - 1, stop);
    if (i < stop || b[i] !== COLON) return -1;
    const keyEnd = wsBack(b, i - 1, stop);
    if (keyEnd < stop || b[keyEnd] !== QUOTE) return -1;
    const keyStart = stringStartBack(b, keyEnd, stop);
    if (keyStart < 0) return -1;
    for (let k = keyStart + 1; k < keyEnd; k++) if (b[k] === BACKSLASH) return -1;
    this.keyStart = keyStart;
    this.keyEnd = keyEnd;
    this.start = start;
    this.end = end;
    this.i = keyStart - 1;
    return 1;
  }
}

// Reused: the walk is synchronous and nothing else runs during it (and lets go of the body after).
const NO_BYTES = Buffer.alloc(0);
const OUTER = new MembersBack(NO_BYTES);
const INNER = new MembersBack(NO_BYTES);

/**
 * `usageFromJson(JSON.parse(body))` read from the end of the body: the top-level members are
 * walked backwards from the closing brace (strings, with their escapes, and nested values skipped
 * whole) to the last `usage` member, whose token counts are read in place. An upstream writes
 * `usage` after `choices`, so this reads a few hundred bytes instead of parsing the whole answer.
 * Undefined when the end of the body does not settle it — no `usage` object among the members
 * within TAIL_WINDOW bytes of the end, one that gives no usage (the Responses shape's
 * `response.usage` may then count), a key written with escapes, anything unexpected — and the
 * caller parses the whole body.
 *
 * On a valid JSON document the answer is the full parse's: the last of repeated keys wins, as in
 * JSON.parse, and a number is read with Number(), which gives JSON.parse's value for every JSON
 * number. A body whose beginning is broken but whose end holds a well-formed `usage` member is
 * counted from that member, where the full parse would have given up (docs/quotas.md).
 */
export function usageFromJsonTail(b: Buffer): TokenUsage | null | undefined {
  const usage = readTail(b);
  OUTER.reset(NO_BYTES, 0, 0);
  INNER.reset(NO_BYTES, 0, 0);
  return usage;
}

function readTail(b: Buffer): TokenUsage | null | undefined {
  const stop = Math.max(0, b.length - TAIL_WINDOW);
  const close = wsBack(b, b.length - 1, stop);
  if (close < stop || b[close] !== CLOSE_BRACE) return undefined;
  const outer = OUTER.reset(b, close, stop);
  for (;;) {
    if (outer.next() !== 1) return undefined;
    if (keyIs(b, outer.keyStart, outer.keyEnd, USAGE_KEY)) break;
  }
  if (b[outer.start] !== OPEN_BRACE || b[outer.end] !== CLOSE_BRACE) return undefined;
  const found: Partial<Record<(typeof USAGE_FIELDS)[number], number | null>> = {};
  const inner = INNER.reset(b, outer.end, outer.start);
  for (;;) {
    const r = inner.next();
    if (r === 0) break;
    if (r < 0) return undefined;
    for (let f = 0; f < USAGE_FIELDS.length; f++) {
      const name = USAGE_FIELDS[f]!;
      // The last of repeated keys is the one met first here.
      if (!keyIs(b, inner.keyStart, inner.keyEnd, USAGE_FIELD_KEYS[f]!) || name in found) continue;
      // A number is read as JSON.parse reads it; anything else is not a count.
      const c = b[inner.start];
      found[name] = c === QUOTE || c === OPEN_BRACE || c === OPEN_BRACKET ? null : numberAt(b, inner.start, inner.end);
      break;
    }
  }
  return normalizeUsage(found) ?? undefined;
}

/** Usage of a whole (non-streamed) JSON response body; null when there is none or the body is not JSON. */
export function usageFromJsonBody(body: Buffer): TokenUsage | null {
  const tail = usageFromJsonTail(body);
  if (tail !== undefined) return tail;
  try {
    return usageFromJson(JSON.parse(body.toString('utf8')));
  } catch {
    // An upstream answering with broken JSON is the upstream's business; no usage then.
    return null;
  }
}

/** One complete SSE event: its raw text (with terminator) and the joined `data:` payload. */
export interface SseEvent {
  raw: string;
  data: string;
}

/** Largest partial event held while waiting for its end; beyond it the scanner gives up parsing. */
const MAX_PENDING = 1024 * 1024;

/**
 * Incremental SSE splitter (WHATWG event-stream framing: events end at a blank line; lines end
 * in CRLF, LF or CR). Feed it chunks; it returns the events completed so far.
 */
export class SseScanner {
  private decoder = new StringDecoder('utf8');
  private pending = '';
  /** Whether text was decoded yet (a byte order mark is dropped only at the very start). */
  private started = false;
  /** Set when a partial event grew beyond MAX_PENDING: the stream is not SSE as we know it. */
  overflowed = false;

  feed(chunk: Buffer): SseEvent[] {
    if (this.overflowed) return [];
    let text = this.decoder.write(chunk);
    if (!this.started && text !== '') {
      this.started = true;
      // Clients drop one leading U+FEFF (WHATWG event-stream); so must we, or the first `data:`
      // line would look like an unknown field here and reach the client unscanned.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.pending += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = findEventEnd(this.pending);
      if (end < 0) break;
      const raw = this.pending.slice(0, end);
      this.pending = this.pending.slice(end);
      events.push({ raw, data: dataOf(raw) });
    }
    if (this.pending.length > MAX_PENDING) {
      // Not SSE as we know it: hand back what is held (so nothing is lost) and stop parsing.
      this.overflowed = true;
      events.push({ raw: this.pending + this.decoder.end(), data: '' });
      this.pending = '';
    }
    return events;
  }

  /** What is left at the end of the stream (an unterminated last event), as raw text. */
  rest(): string {
    const r = this.pending + this.decoder.end();
    this.pending = '';
    return r;
  }
}

/** Index just past the blank line ending the first event, or -1. */
function findEventEnd(s: string): number {
  const m = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(s);
  if (!m) return -1;
  // A lone trailing CR may be the first half of CRLF: wait for more input.
  const end = m.index + m[0].length;
  if (m[0] === '\r\r' && s[end] === '\n') return end + 1;
  return end;
}

function dataOf(raw: string): string {
  let data = '';
  let first = true;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (!line.startsWith('data:')) continue;
    const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = first ? v : `${data}\n${v}`;
    first = false;
  }
  return data;
}

/**
 * Reads usage out of an SSE event, if it carries any. Cheap for events without usage: JSON is
 * parsed only when the payload mentions "usage".
 */
export function usageFromEvent(ev: SseEvent): { usage: TokenUsage | null; usageOnly: boolean } {
  if (!ev.data.includes('"usage"')) return { usage: null, usageOnly: false };
  let o: unknown;
  try {
    o = JSON.parse(ev.data);
  } catch {
    return { usage: null, usageOnly: false };
  }
  const usage = usageFromJson(o);
  const choices = (o as { choices?: unknown }).choices;
  // The extra chunk that `include_usage` adds has an empty `choices` list and only usage.
  const usageOnly = usage !== null && Array.isArray(choices) && choices.length === 0;
  return { usage, usageOnly };
}
