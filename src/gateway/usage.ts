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
