// Regression tests from the security review: odd SSE framing and event shapes must never let
// unscanned text reach the client. Upstream bytes go through the gateway's SseScanner and the
// SseGuard exactly as src/gateway/guarded.ts drives them, cut into chunks at every byte, and what
// the client would read is parsed with the WHATWG event-stream rules (BOM stripped, CR/LF/CRLF,
// comments ignored, multi-line data joined, an unterminated last event dropped).
import { describe, expect, it } from 'vitest';
import { SseScanner } from '../gateway/usage.js';
import type { GuardSlot } from './pipeline.js';
import { MAX_SENT_CHARS, SseGuard } from './sse.js';
import type { StreamTextFilter } from './types.js';

const SECRET = 'SECRET';

function slot(over: Partial<GuardSlot> = {}): GuardSlot {
  return { guard: { name: 'f', kind: 'k', supports: () => true }, name: 'f', kind: 'k', shadow: false, failOpen: false, timeoutMs: 100, routes: null, models: () => true, ...over };
}

/** Redacts SECRET across chunk boundaries, holding back at most 5 characters per channel. */
function redactor(): StreamTextFilter {
  const buf = new Map<string, string>();
  const step = (ch: string, final: boolean) => {
    let t = buf.get(ch) ?? '';
    const hit = t.includes(SECRET);
    t = t.split(SECRET).join('[X]');
    const keep = final ? 0 : Math.min(SECRET.length - 1, t.length);
    buf.set(ch, t.slice(t.length - keep));
    return { release: t.slice(0, t.length - keep), ...(hit ? { verdict: { action: 'redact' as const, reasons: [{ code: 'x.secret', message: 'a secret' }] } } : {}) };
  };
  return {
    maxHoldBack: SECRET.length - 1,
    push: (ch, text) => {
      buf.set(ch, (buf.get(ch) ?? '') + text);
      return step(ch, false);
    },
    end: (ch) => step(ch, true),
  };
}

/** What forwardGuardedStream writes for these upstream chunks (the stop is marked, not rendered). */
function gateway(route: string, chunks: Buffer[]): { out: string; stopped: boolean } {
  const guard = new SseGuard(route, [{ slot: slot(), filter: redactor() }]);
  const scanner = new SseScanner();
  let out = '';
  let stopped = false;
  const handle = (events: { raw: string; data: string }[], overflowed: boolean): boolean => {
    if (overflowed && guard.unscannable('').stop) return !(stopped = true);
    for (const ev of events) {
      const r = guard.event(ev);
      out += r.out;
      if (r.stop) return !(stopped = true);
    }
    return true;
  };
  let going = true;
  for (const c of chunks) {
    if (scanner.overflowed) {
      out += c.toString('utf8');
      continue;
    }
    going = handle(scanner.feed(c), scanner.overflowed);
    if (!going) break;
  }
  if (going) going = handle(scanner.overflowed ? [] : scanner.feed(Buffer.from('\n\n')), false);
  if (going) {
    const r = guard.end();
    out += r.out;
    if (r.stop) stopped = true;
  }
  return { out, stopped };
}

/** The `data` of each event a conforming client dispatches. */
function clientData(stream: string): string[] {
  let s = stream.charCodeAt(0) === 0xfeff ? stream.slice(1) : stream;
  const out: string[] = [];
  let data: string[] = [];
  // Only complete lines count; an unterminated last line (and event) is dropped.
  const lines: string[] = [];
  const re = /\r\n|\n|\r/g;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    lines.push(s.slice(last, m.index));
    last = m.index + m[0].length;
  }
  s = '';
  for (const line of lines) {
    if (line === '') {
      if (data.length) out.push(data.join('\n'));
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
  }
  return out;
}

/** Every way of cutting `text` into two chunks, plus one chunk per byte. */
function splits(text: string): Buffer[][] {
  const b = Buffer.from(text, 'utf8');
  const out: Buffer[][] = [[b], [...b].map((x) => Buffer.from([x]))];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  return out;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });

/** The stream must never show SECRET, at any chunking; returns the client's view of the whole one. */
function neverLeaks(route: string, upstream: string): { data: string[]; stopped: boolean } {
  for (const cut of splits(upstream)) {
    const r = gateway(route, cut);
    for (const d of clientData(r.out)) expect(d).not.toContain(SECRET);
  }
  const whole = gateway(route, [Buffer.from(upstream, 'utf8')]);
  return { data: clientData(whole.out), stopped: whole.stopped };
}

/** A Responses API event, as far as the tests read it. */
interface Ev {
  type: string;
  [k: string]: unknown;
  delta?: string;
  part?: { text: string };
  response?: { output: { summary: { text: string }[]; code: string }[] };
}

const contentOf = (data: string[]) =>
  data
    .filter((d) => d !== '[DONE]')
    .map((d) => (JSON.parse(d) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content ?? '')
    .join('');

describe('SSE framing cannot carry unscanned text past the stream filters', () => {
  it('CRLF line endings, a secret split across events', () => {
    const up = `data: ${chunk({ content: 'my SEC' })}\r\n\r\ndata: ${chunk({ content: 'RET!' })}\r\n\r\ndata: ${chunk({}, 'stop')}\r\n\r\ndata: [DONE]\r\n\r\n`;
    expect(contentOf(neverLeaks('openai.chat.completions', up).data)).toBe('my [X]!');
  });

  it('CR-only line endings', () => {
    const up = `data: ${chunk({ content: 'a SECR' })}\r\rdata: ${chunk({ content: 'ET' })}\r\r`;
    expect(contentOf(neverLeaks('openai.chat.completions', up).data)).toBe('a [X]');
  });

  it('one event whose JSON spans several data: lines, with comments and other fields around it', () => {
    const up = `: keep-alive\n\nevent: message\nid: 7\ndata: {"choices":[{"index":0,\n: a comment inside\ndata: "delta":{"content":"x SECRET y"}}]}\n\n: bye\n\n`;
    expect(contentOf(neverLeaks('openai.chat.completions', up).data)).toBe('x [X] y');
  });

  it('a final event without its blank line', () => {
    const up = `data: ${chunk({ content: 'tail SECRE' })}\n\ndata: ${chunk({ content: 'T' }, 'stop')}`;
    neverLeaks('openai.chat.completions', up);
  });

  it('a byte order mark before the first data line (regression: the event passed as a comment)', () => {
    const up = `\uFEFFdata: ${chunk({ content: 'the SECRET' })}\n\ndata: [DONE]\n\n`;
    expect(contentOf(neverLeaks('openai.chat.completions', up).data)).toBe('the [X]');
  });

  it('text beside an error object (regression: error events passed unscanned)', () => {
    const up = `data: ${JSON.stringify({ error: { message: 'oops' }, choices: [{ index: 0, delta: { content: 'SECRET' }, finish_reason: 'stop' }] })}\n\n`;
    neverLeaks('openai.chat.completions', up);
    const bare = `data: ${JSON.stringify({ error: { message: 'rate limited' } })}\n\n`;
    expect(neverLeaks('openai.chat.completions', bare).data).toEqual([JSON.stringify({ error: { message: 'rate limited' } })]);
  });

  it('legacy function_call arguments (regression: scanned in JSON answers, not in streams)', () => {
    const up = `data: ${chunk({ function_call: { name: 'f', arguments: '{"k":"SEC' } })}\n\ndata: ${chunk({ function_call: { arguments: 'RET"}' } })}\n\ndata: ${chunk({}, 'function_call')}\n\n`;
    const { data } = neverLeaks('openai.chat.completions', up);
    const args = data.map((d) => (JSON.parse(d) as { choices: { delta: { function_call?: { arguments?: string } } }[] }).choices[0]!.delta.function_call?.arguments ?? '').join('');
    expect(args).toBe('{"k":"[X]"}');
  });

  it('custom tool call input in the Responses API (regression: deltas and the item passed unscanned)', () => {
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    const up =
      ev({ type: 'response.custom_tool_call_input.delta', output_index: 0, item_id: 'i', delta: 'run SEC' }) +
      ev({ type: 'response.custom_tool_call_input.delta', output_index: 0, item_id: 'i', delta: 'RET now' }) +
      ev({ type: 'response.custom_tool_call_input.done', output_index: 0, item_id: 'i', input: 'run SECRET now' }) +
      ev({ type: 'response.output_item.done', output_index: 0, item: { type: 'custom_tool_call', id: 'i', name: 't', input: 'run SECRET now' } });
    const { data } = neverLeaks('openai.responses', up);
    const deltas = data.map((d) => JSON.parse(d) as Record<string, unknown>).filter((o) => o.type === 'response.custom_tool_call_input.delta');
    expect(deltas.map((o) => o.delta).join('')).toBe('run [X] now');
  });

  it('reasoning summaries, audio transcripts and code interpreter code (regression: unknown delta events passed unscanned)', () => {
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    const up =
      ev({ type: 'response.reasoning_summary_text.delta', item_id: 'r', output_index: 0, summary_index: 0, delta: 'think SEC' }) +
      ev({ type: 'response.reasoning_summary_text.delta', item_id: 'r', output_index: 0, summary_index: 0, delta: 'RET' }) +
      ev({ type: 'response.reasoning_summary_text.done', item_id: 'r', output_index: 0, summary_index: 0, text: 'think SECRET' }) +
      ev({ type: 'response.reasoning_summary_part.done', item_id: 'r', output_index: 0, summary_index: 0, part: { type: 'summary_text', text: 'think SECRET' } }) +
      ev({ type: 'response.code_interpreter_call_code.delta', item_id: 'c', output_index: 1, delta: 'print("SE' }) +
      ev({ type: 'response.code_interpreter_call_code.delta', item_id: 'c', output_index: 1, delta: 'CRET")' }) +
      ev({ type: 'response.code_interpreter_call_code.done', item_id: 'c', output_index: 1, code: 'print("SECRET")' }) +
      ev({ type: 'response.audio.transcript.delta', response_id: 'x', delta: 'say SECR' }) +
      ev({ type: 'response.audio.transcript.delta', response_id: 'x', delta: 'ET' }) +
      ev({ type: 'response.audio.transcript.done', response_id: 'x' }) +
      ev({
        type: 'response.completed',
        response: {
          output: [
            { type: 'reasoning', id: 'r', summary: [{ type: 'summary_text', text: 'think SECRET' }] },
            { type: 'code_interpreter_call', id: 'c', code: 'print("SECRET")' },
          ],
        },
      });
    const { data } = neverLeaks('openai.responses', up);
    const events = data.map((d) => JSON.parse(d) as Ev);
    const joined = (t: string) => events.filter((o) => o.type === t).map((o) => o.delta).join('');
    expect(joined('response.reasoning_summary_text.delta')).toBe('think [X]');
    expect(joined('response.code_interpreter_call_code.delta')).toBe('print("[X]")');
    expect(joined('response.audio.transcript.delta')).toBe('say [X]');
    expect(events.find((o) => o.type === 'response.reasoning_summary_text.done')!.text).toBe('think [X]');
    expect(events.find((o) => o.type === 'response.reasoning_summary_part.done')!.part!.text).toBe('think [X]');
    expect(events.find((o) => o.type === 'response.code_interpreter_call_code.done')!.code).toBe('print("[X]")');
    const done = events.find((o) => o.type === 'response.completed')!.response!.output;
    expect(done[0]!.summary[0]!.text).toBe('think [X]');
    expect(done[1]!.code).toBe('print("[X]")');
  });

  it('a delta event no version of this file knows gets its own channel; its done is rebuilt, held text released at the end', () => {
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    const up =
      ev({ type: 'response.future_thing.delta', item_id: 'f', output_index: 2, part_index: 1, delta: 'a SECR' }) +
      ev({ type: 'response.future_thing.delta', item_id: 'f', output_index: 2, part_index: 1, delta: 'ET b' }) +
      ev({ type: 'response.future_thing.done', item_id: 'f', output_index: 2, part_index: 1, content: 'a SECRET b' }) +
      ev({ type: 'response.other_thing.done', item_id: 'g', output_index: 3, note: 'never streamed SECRET', label: 'SECRET too' }) +
      ev({ type: 'response.tail_thing.delta', item_id: 't', output_index: 4, delta: 'ends SECRE' }) +
      ev({ type: 'response.tail_thing.delta', item_id: 't', output_index: 4, delta: 'T' });
    const { data } = neverLeaks('openai.responses', up);
    const events = data.map((d) => JSON.parse(d) as Ev);
    expect(events.filter((o) => o.type === 'response.future_thing.delta').map((o) => o.delta).join('')).toBe('a [X] b');
    expect(events.find((o) => o.type === 'response.future_thing.done')).toMatchObject({ item_id: 'f', content: 'a [X] b' });
    expect(events.find((o) => o.type === 'response.other_thing.done')).toMatchObject({ item_id: 'g', note: 'never streamed [X]', label: '[X] too' });
    // The tail's held text goes out at the end in a delta event of its own type.
    const tail = events.filter((o) => o.type === 'response.tail_thing.delta');
    expect(tail.map((o) => o.delta).join('')).toBe('ends [X]');
    expect(tail[tail.length - 1]).toMatchObject({ item_id: 't', output_index: 4 });
  });

  it('leaves base64 audio deltas alone (not text)', () => {
    const audio = JSON.stringify({ type: 'response.audio.delta', response_id: 'x', delta: Buffer.from(`raw ${SECRET} bytes`).toString('base64') });
    const g = new SseGuard('openai.responses', [{ slot: slot(), filter: redactor() }]);
    expect(g.event({ raw: `data: ${audio}\n\n`, data: audio }).out).toBe(`data: ${audio}\n\n`);
  });

  it('keeps no unbounded copy of what was sent (regression: the text of every channel was kept for the whole stream)', () => {
    const held = (g: SseGuard) => [...(g as unknown as { sent: Map<string, string> }).sent.values()].reduce((n, t) => n + t.length, 0);
    const piece = 'a'.repeat(1_000_000);
    const chat = new SseGuard('openai.chat.completions', [{ slot: slot(), filter: redactor() }]);
    for (let i = 0; i < 12; i++) chat.event({ raw: '', data: chunk({ content: piece }) });
    expect(held(chat)).toBe(0);
    const resp = new SseGuard('openai.responses', [{ slot: slot(), filter: redactor() }]);
    const delta = JSON.stringify({ type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: piece });
    for (let i = 0; i < 12; i++) expect(resp.event({ raw: '', data: delta }).stop).toBeUndefined();
    expect(held(resp)).toBeLessThanOrEqual(MAX_SENT_CHARS);
    // The full text can no longer be rebuilt from what was scanned: the filter fails closed.
    const r = resp.event({ raw: '', data: JSON.stringify({ type: 'response.output_text.done', output_index: 0, content_index: 0, text: `${piece}${SECRET}` }) });
    expect(r.stop).toBeDefined();
    expect(r.out).not.toContain(SECRET);
  });
});
