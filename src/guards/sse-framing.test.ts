// Regression tests from the security review: odd SSE framing and event shapes must never let
// unscanned text reach the client. Upstream bytes go through the gateway's SseScanner and the
// SseGuard exactly as src/gateway/guarded.ts drives them, cut into chunks at every byte, and what
// the client would read is parsed with the WHATWG event-stream rules (BOM stripped, CR/LF/CRLF,
// comments ignored, multi-line data joined, an unterminated last event dropped).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../detect/random.js';
import { SseScanner } from '../gateway/usage.js';
import type { GuardSlot } from './pipeline.js';
import { MAX_OPEN_CHANNELS, MAX_SENT_CHARS, SseGuard } from './sse.js';
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

/** Upstream events as the Responses API frames them. */
const rev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
const parsed = (data: string[]) => data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Record<string, unknown>);
type Json = Record<string, unknown>;
/** The value at a path of keys and positions, or undefined. */
const at = (v: unknown, path: (string | number)[]): unknown => path.reduce<unknown>((x, k) => (typeof x === 'object' && x !== null ? (x as Record<string | number, unknown>)[k] : undefined), v);

describe('object- and array-valued deltas and fields no version of the splitter knows are scanned', () => {
  it('an unknown response.*.delta whose delta is an object (regression: passed to the client unscanned)', () => {
    const up =
      rev({ type: 'response.foo.delta', item_id: 'f', output_index: 0, delta: { type: 'text', text: 'key AKIA SEC', id: 'd1' } }) +
      rev({ type: 'response.foo.delta', item_id: 'f', output_index: 0, delta: { type: 'text', text: 'RET done', id: 'd1' } }) +
      rev({ type: 'response.foo.done', item_id: 'f', output_index: 0, result: { text: 'key AKIA SECRET done' } });
    const { data, stopped } = neverLeaks('openai.responses', up);
    expect(stopped).toBe(false);
    const events = parsed(data);
    // One event out per event in, and the text held at the end of the channel in one delta event of
    // the same type and shape (ids and type tags kept) just before the done.
    expect(events.map((e) => e.type)).toEqual(['response.foo.delta', 'response.foo.delta', 'response.foo.delta', 'response.foo.done']);
    expect(events.map((e) => at(e, ['delta', 'text']) ?? '').join('')).toBe('key AKIA [X] done');
    for (const e of events.slice(0, 3)) expect(e).toMatchObject({ item_id: 'f', output_index: 0, delta: { type: 'text', id: 'd1', text: expect.any(String) } });
    expect(at(events[3], ['result', 'text'])).toBe('key AKIA [X] done');
  });

  it('an unknown response.*.delta whose delta is an array, held text released before its done in the same shape', () => {
    const up =
      rev({ type: 'response.bar.delta', item_id: 'b', output_index: 1, delta: [{ index: 0, text: 'one SE' }, { index: 1, text: 'two SEC' }] }) +
      rev({ type: 'response.bar.delta', item_id: 'b', output_index: 1, delta: [{ index: 1, text: 'RET' }, { index: 0, text: 'CRET' }] }) +
      rev({ type: 'response.bar.done', item_id: 'b', output_index: 1 }) +
      rev({ type: 'response.baz.delta', item_id: 'z', output_index: 2, delta: { parts: [{ text: 'tail SECRE' }] } }) +
      rev({ type: 'response.baz.delta', item_id: 'z', output_index: 2, delta: { parts: [{ text: 'T' }] } });
    const { data } = neverLeaks('openai.responses', up);
    const events = parsed(data);
    const bar = events.filter((e) => e.type === 'response.bar.delta');
    // Elements are named by their `index` field, so a secret split across two positions is still joined.
    const byIndex = (k: number) => bar.map((e) => ((e.delta as Json[]).find((p) => p.index === k)?.text as string | undefined) ?? '').join('');
    expect(byIndex(0)).toBe('one [X]');
    expect(byIndex(1)).toBe('two [X]');
    expect(bar.length).toBeGreaterThan(2); // the held tail went out in an extra delta event of the same type
    expect(events.findIndex((e) => e.type === 'response.bar.done')).toBeGreaterThan(events.indexOf(bar[bar.length - 1]!));
    const baz = events.filter((e) => e.type === 'response.baz.delta');
    expect(baz.map((e) => at(e, ['delta', 'parts', 0, 'text'])).join('')).toBe('tail [X]');
    expect(baz[baz.length - 1]).toMatchObject({ item_id: 'z', output_index: 2, delta: { parts: [{ text: expect.any(String) }] } });
  });

  it('choices[0].delta.reasoning_content and reasoning (vLLM, DeepSeek) (regression: passed unscanned)', () => {
    const up =
      `data: ${chunk({ role: 'assistant', reasoning_content: 'think SEC' })}\n\n` +
      `data: ${chunk({ reasoning_content: 'RET then' })}\n\n` +
      `data: ${chunk({ reasoning: 'other SECR' })}\n\n` +
      `data: ${chunk({ content: 'answer' }, 'stop')}\n\ndata: [DONE]\n\n`;
    const { data } = neverLeaks('openai.chat.completions', up);
    expect(data.length).toBe(5);
    const deltas = parsed(data).map((e) => at(e, ['choices', 0, 'delta']) as Json);
    expect(deltas.map((d) => d.reasoning_content ?? '').join('')).toBe('think [X] then');
    // Held text of a channel is released into the finish chunk, under its own field.
    expect(deltas.map((d) => d.reasoning ?? '').join('')).toBe('other SECR');
    expect(deltas[3]).toMatchObject({ content: 'answer', reasoning: expect.any(String) });
    expect(deltas[0]!.role).toBe('assistant');
  });

  it('unknown object-valued fields of a chat delta, audio transcripts, function names (regression: passed unscanned)', () => {
    const audio = Buffer.from(`pcm ${SECRET}`).toString('base64');
    const up =
      `data: ${chunk({ extra: { notes: [{ text: 'n SE' }], meta: { id: 'm1' } }, audio: { id: 'a1', data: audio, transcript: 'say SEC' } })}\n\n` +
      `data: ${chunk({ extra: { notes: [{ text: 'CRET' }] }, audio: { transcript: 'RET' }, tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'SECRET', arguments: '{"a":"SECR' } }] })}\n\n` +
      `data: ${chunk({ tool_calls: [{ index: 0, function: { arguments: 'ET"}' } }] }, 'tool_calls')}\n\n`;
    const { data } = neverLeaks('openai.chat.completions', up);
    expect(data.length).toBe(3);
    const deltas = parsed(data).map((e) => at(e, ['choices', 0, 'delta']) as Json);
    expect(deltas.map((d) => at(d, ['extra', 'notes', 0, 'text']) ?? '').join('')).toBe('n [X]');
    expect(deltas.map((d) => at(d, ['audio', 'transcript']) ?? '').join('')).toBe('say [X]');
    expect(at(deltas[0], ['audio', 'data'])).toBe(audio); // base64 audio is not text: left alone
    expect(at(deltas[0], ['extra', 'meta', 'id'])).toBe('m1');
    expect(at(deltas[1], ['tool_calls', 0, 'function', 'name'])).toBe('[X]');
    expect(deltas.map((d) => at(d, ['tool_calls', 0, 'function', 'arguments']) ?? '').join('')).toBe('{"a":"[X]"}');
  });

  it('events and fields the splitter does not know are scanned whole (annotations, errors, output item fields)', () => {
    const up =
      rev({ type: 'response.output_text.annotation.added', item_id: 'm', output_index: 0, annotation: { type: 'url_citation', title: `page ${SECRET}`, url: 'https://x.test/' } }) +
      rev({ type: 'error', code: 'x', message: `upstream echoed ${SECRET}` }) +
      rev({ type: 'response.output_item.done', output_index: 1, item: { type: 'mcp_call', id: 'i', name: 'n', arguments: '{}', output: `tool said ${SECRET}` } });
    const { data } = neverLeaks('openai.responses', up);
    const events = parsed(data);
    expect(events.length).toBe(3);
    expect(at(events[0], ['annotation', 'title'])).toBe('page [X]');
    expect(at(events[0], ['annotation', 'type'])).toBe('url_citation');
    expect(events[1]!.message).toBe('upstream echoed [X]');
    expect(at(events[2], ['item', 'output'])).toBe('tool said [X]');
  });

  it('keeps at most MAX_OPEN_CHANNELS channels open (regression: one channel per leaf, kept for the whole stream)', () => {
    const g = new SseGuard('openai.responses', [{ slot: slot(), filter: redactor() }]);
    const open = (x: SseGuard) => (x as unknown as { open: Set<string>; leafOf: Map<string, unknown> }).open.size;
    const half = Array.from({ length: MAX_OPEN_CHANNELS / 2 }, () => 'held');
    const delta = (item: string) => JSON.stringify({ type: 'response.wide.delta', item_id: item, output_index: item === 'a' ? 0 : 1, delta: half });
    expect(g.event({ raw: '', data: delta('a') }).stop).toBeUndefined();
    expect(g.event({ raw: '', data: delta('b') }).stop).toBeUndefined();
    expect(open(g)).toBe(MAX_OPEN_CHANNELS);
    // Ending channels forgets their shapes, and frees room.
    const done = JSON.stringify({ type: 'response.wide.done', item_id: 'a', output_index: 0 });
    const out = g.event({ raw: '', data: done }).out;
    expect(open(g)).toBe(MAX_OPEN_CHANNELS / 2);
    expect(out.split('\n\n').filter(Boolean).length).toBe(1); // all held leaves in one delta event
    expect(g.event({ raw: '', data: delta('a') }).stop).toBeUndefined();
    const r = g.event({ raw: '', data: JSON.stringify({ type: 'response.other.delta', output_index: 3, delta: { text: SECRET } }) });
    expect(r.stop).toBeDefined();
    expect(r.out).toBe('');
  });

  it('a delta nested deeper than the walk goes fails closed (fail open: passed, error recorded)', () => {
    let deep: unknown = { text: SECRET };
    for (let i = 0; i < 70; i++) deep = { d: deep };
    const data = chunk({ extra: deep });
    const closed = new SseGuard('openai.chat.completions', [{ slot: slot(), filter: redactor() }]);
    const r = closed.event({ raw: `data: ${data}\n\n`, data });
    expect(r.stop).toBeDefined();
    expect(r.out).toBe('');
    const open = new SseGuard('openai.chat.completions', [{ slot: slot({ failOpen: true }), filter: redactor() }]);
    expect(open.event({ raw: `data: ${data}\n\n`, data }).stop).toBeUndefined();
    expect(open.runs()[0]).toMatchObject({ action: 'error', reasons: [{ code: 'guard.error' }] });
  });
});

/** A random nested delta value: objects, arrays (elements named by `index` or by position), string leaves. */
type Shape = { leaf: number } | { obj: [string, Shape][]; id?: string } | { arr: Shape[]; indexed: boolean };

/** Keys of the fuzzed objects: text fields, JSON-pointer escapes, never a field known not to be text. */
const FUZZ_KEYS = ['text', 'note', 'body', 'parts', 'a/b', 'c~d', 'reasoning_content', 'extra'];
const WORDS = ['alpha', 'the ', 'key ', ' is ', 'SEC', 'x', '"', '\\', 'é', '😀', '\n'];

describe('fuzz: secrets at random leaves of random nested deltas never reach the client', () => {
  const gen = (r: () => number, depth: number, leaves: { n: number }): Shape => {
    if (depth >= 3 || r() < 0.3) return { leaf: leaves.n++ };
    if (r() < 0.55) {
      const keys = [...FUZZ_KEYS].sort(() => r() - 0.5).slice(0, 1 + Math.floor(r() * 3));
      return { obj: keys.map((k) => [k, gen(r, depth + 1, leaves)] as [string, Shape]), ...(r() < 0.3 ? { id: `id-${depth}` } : {}) };
    }
    const n = 1 + Math.floor(r() * 3);
    return { arr: Array.from({ length: n }, () => gen(r, depth + 1, leaves)), indexed: r() < 0.5 };
  };
  /** The shape with the texts of one event; elements named by `index` come in a random order. */
  const build = (r: () => number, sh: Shape, texts: string[]): unknown => {
    if ('leaf' in sh) return texts[sh.leaf];
    if ('obj' in sh) {
      const o: Record<string, unknown> = sh.id ? { id: sh.id } : {};
      for (const [k, v] of sh.obj) o[k] = build(r, v, texts);
      return o;
    }
    const list = sh.arr.map((v, i) => (sh.indexed ? { index: i, v: build(r, v, texts) } : build(r, v, texts)));
    return sh.indexed ? list.sort(() => r() - 0.5) : list;
  };
  /** Texts per leaf as a client that joins deltas per path reads them (its own walk, not the guard's). */
  const collect = (v: unknown, path: string, into: Map<string, string>): void => {
    if (typeof v === 'string') into.set(path, (into.get(path) ?? '') + v);
    else if (Array.isArray(v)) v.forEach((x, i) => collect(x, `${path}/${x && typeof x === 'object' && typeof (x as Json).index === 'number' ? `#${String((x as Json).index)}` : `@${i}`}`, into));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'id' && k !== 'index') collect(x, `${path}/${k}`, into);
  };

  it('chat deltas and Responses API object deltas, 150 seeds, whole and cut at random bytes', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = mulberry32(seed);
      const chat = seed % 2 === 0;
      const leaves = { n: 0 };
      let shape = gen(r, 0, leaves);
      if (chat && !('obj' in shape)) shape = { obj: [['extra', shape]] }; // a chat delta is an object
      if (!chat && 'leaf' in shape) shape = { arr: [shape], indexed: false };
      // Each leaf's full text, secrets at random places, cut into pieces over 2-5 events.
      const events = 2 + Math.floor(r() * 4);
      const full: string[] = [];
      const pieces: string[][] = Array.from({ length: events }, () => []);
      for (let l = 0; l < leaves.n; l++) {
        let t = '';
        const words = 1 + Math.floor(r() * 6);
        for (let w = 0; w < words; w++) t += r() < 0.35 ? SECRET : WORDS[Math.floor(r() * WORDS.length)]!;
        full.push(t);
        const cuts = Array.from({ length: events - 1 }, () => Math.floor(r() * (t.length + 1))).sort((a, b) => a - b);
        const bounds = [0, ...cuts, t.length];
        // Cut between UTF-16 code units of a surrogate pair too: the text is JSON either way.
        for (let e = 0; e < events; e++) pieces[e]!.push(t.slice(bounds[e], bounds[e + 1]));
      }
      const ending = Math.floor(r() * 3); // 0: finish_reason / done event, 1: [DONE] only, 2: the stream just ends
      let up = '';
      const route = chat ? 'openai.chat.completions' : 'openai.responses';
      for (let e = 0; e < events; e++) {
        const value = build(r, shape, pieces[e]!);
        up += chat ? `data: ${chunk(value as Json)}\n\n` : rev({ type: 'response.fz.delta', item_id: 'z', output_index: 0, delta: value });
      }
      if (ending === 0) up += chat ? `data: ${chunk({}, 'stop')}\n\n` : rev({ type: 'response.fz.done', item_id: 'z', output_index: 0 });
      if (ending <= 1 && chat) up += 'data: [DONE]\n\n';
      const expected = new Map<string, string>();
      collect(build(r, shape, full.map((t) => t.split(SECRET).join('[X]'))), '', expected);
      const cuts: Buffer[][] = [[Buffer.from(up, 'utf8')]];
      const bytes = Buffer.from(up, 'utf8');
      for (let k = 0; k < 3; k++) {
        const at1 = Math.floor(r() * bytes.length);
        const at2 = Math.floor(r() * bytes.length);
        const [x, y] = [Math.min(at1, at2), Math.max(at1, at2)];
        cuts.push([bytes.subarray(0, x), bytes.subarray(x, y), bytes.subarray(y)]);
      }
      for (const cut of cuts) {
        const { out, stopped } = gateway(route, cut);
        expect(stopped, `seed ${seed}`).toBe(false);
        const data = clientData(out);
        const got = new Map<string, string>();
        let deltaEvents = 0;
        for (const d of data) {
          expect(d, `seed ${seed}`).not.toContain(SECRET);
          if (d === '[DONE]') continue;
          const o = JSON.parse(d) as Json;
          if (chat) {
            expect(o, `seed ${seed}`).toMatchObject({ choices: [{ index: 0 }] });
            collect(at(o, ['choices', 0, 'delta']), '', got);
            deltaEvents++;
          } else {
            expect(['response.fz.delta', 'response.fz.done'], `seed ${seed}`).toContain(o.type);
            if (o.type === 'response.fz.delta') {
              expect(o, `seed ${seed}`).toMatchObject({ item_id: 'z', output_index: 0 });
              collect(o.delta, '', got);
              deltaEvents++;
            }
          }
        }
        for (const [k, v] of [...got]) if (v === '') got.delete(k);
        for (const [k, v] of [...expected]) if (v === '') expected.delete(k);
        // Every piece of text arrives, in order, with each secret redacted even when split across events.
        expect(got, `seed ${seed}`).toEqual(expected);
        // One event out per event in, plus at most one carrying the text still held at the end (all
        // leaves together; in the chat finish chunk itself when there is one).
        const upstreamDeltas = events + (chat && ending === 0 ? 1 : 0);
        expect(deltaEvents, `seed ${seed}`).toBeGreaterThanOrEqual(upstreamDeltas);
        expect(deltaEvents, `seed ${seed}`).toBeLessThanOrEqual(upstreamDeltas + (chat && ending === 0 ? 0 : 1));
      }
    }
  });
});
