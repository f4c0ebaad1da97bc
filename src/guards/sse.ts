// Guards on a streamed (SSE) OpenAI response. Each event's JSON is split into text channels, every
// text delta goes through the stream filters in config order, and the event is written back with
// the text the filters release, keeping its shape: one event in, one event out. Text a filter
// holds back (a possible start of a match) is released on the channel's end: a `finish_reason`,
// a `*.done` event, `[DONE]` or the end of the stream. Full-text fields of the Responses API
// (`response.output_text.done`, `response.completed`, ...) are replaced by what the client was
// actually sent on that channel, so no unscanned byte reaches the client.
//
// Channel names (the `channel` argument of StreamTextFilter.push/end):
//   chat completions   choices/{i}/content, choices/{i}/refusal, choices/{i}/tool_calls/{k}/arguments,
//                      choices/{i}/function_call/arguments (the legacy single function call)
//   completions        choices/{i}/text
//   responses          output/{o}/content/{c} (output_text, refusal, reasoning_text), output/{o}/arguments
//                      (function and MCP calls), output/{o}/input (custom tool calls), output/{o}/summary/{s}
//                      (reasoning summaries), output/{o}/code (code interpreter), output/{o}/{event}/{i...}
//                      (any other `response.{event}.delta` with a string delta, e.g. audio.transcript: a
//                      future event that carries model text is scanned, never passed through),
//                      output_text (the convenience field of a full response object)
import { performance } from 'node:perf_hooks';
import type { GuardRun, GuardSlot } from './pipeline.js';
import type { GuardAction, GuardReason, GuardVerdict, StreamTextFilter } from './types.js';
import { stripLogprobs } from './text.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One raw SSE event (src/gateway/usage.ts SseEvent). */
export interface SseEventLike {
  raw: string;
  data: string;
}

export interface StreamFilterSlot {
  slot: GuardSlot;
  filter: StreamTextFilter;
}

/** Why the stream must stop: an enforcing filter blocked, or failed closed. */
export interface StreamStop {
  slot: GuardSlot;
  /** The blocking verdict; absent when the filter failed (error or unscannable event). */
  verdict?: GuardVerdict;
}

export interface EventResult {
  /** Text to send (possibly several events, when held text is released before a `done`). */
  out: string;
  stop?: StreamStop;
}

const RANK: Record<GuardAction | 'error', number> = { allow: 0, flag: 1, redact: 2, block: 3, error: 4 };

/**
 * Most characters of released text remembered to rebuild the Responses API's full-text fields.
 * Past it those fields cannot be rebuilt, and each filter's onError decides (no unbounded buffer).
 */
export const MAX_SENT_CHARS = 8 * 1024 * 1024;

interface FilterState extends StreamFilterSlot {
  /** The filter's summary, updated in place (the audit record may be written before the stream ends). */
  run: GuardRun;
  codes: Set<string>;
  broken: boolean;
}

/** Routes whose SSE this file understands. */
export const STREAM_ROUTES: ReadonlySet<string> = new Set(['openai.chat.completions', 'openai.completions', 'openai.responses']);

export class SseGuard {
  private readonly filters: FilterState[];
  /** Channels that received text and were not ended yet. */
  private readonly open = new Set<string>();
  /** What the client was sent per channel (Responses API full-text fields are rebuilt from it). */
  private readonly sent = new Map<string, string>();
  private sentChars = 0;
  private stop: StreamStop | null = null;
  /** Template of the last chat/completions chunk, for an event that carries released text at the end. */
  private lastChunk: Obj | null = null;
  private readonly responses: boolean;
  /** Some filter enforces (not shadow): then token log-probabilities are removed from events. */
  private readonly enforcing: boolean;
  /** Responses API: the delta event that opened each channel (type and indexes), to send text released at the end. */
  private readonly deltaOf = new Map<string, Obj>();

  constructor(
    private readonly route: string,
    filters: readonly StreamFilterSlot[],
  ) {
    this.filters = filters.map((f) => ({
      ...f,
      run: { name: f.slot.name, kind: f.slot.kind, phase: 'stream', action: 'allow', shadow: f.slot.shadow, score: null, reasons: [], ms: 0 },
      codes: new Set<string>(),
      broken: false,
    }));
    this.responses = route === 'openai.responses';
    this.enforcing = filters.some((f) => !f.slot.shadow);
  }

  /** The stream filters' names (response header). */
  get names(): string[] {
    return this.filters.map((f) => f.slot.name);
  }

  /** Rewrites one event. After a stop, nothing more may be sent. */
  event(ev: SseEventLike): EventResult {
    if (this.stop) return { out: '', stop: this.stop };
    const data = ev.data;
    if (data === '' && !/^data:/m.test(ev.raw)) return { out: ev.raw }; // comments, retry:, keep-alives
    if (data.trim() === '[DONE]') {
      const tail = this.flushAll();
      return this.result(tail + ev.raw);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return this.unscannable(ev.raw);
    }
    if (!isObj(obj)) return this.unscannable(ev.raw);
    // An upstream error event goes through the same walk: a bare one comes out unchanged, and text
    // beside the error (choices, a response object) is scanned like anywhere else.
    let prefix = '';
    // Token log-probabilities spell the text out unscanned: dropped while any filter enforces.
    const stripped = this.enforcing && stripLogprobs(obj);
    const changed = (this.responses ? this.responsesEvent(obj, (extra) => (prefix += extra)) : this.choicesEvent(obj)) || stripped;
    if (this.stop) return { out: '', stop: this.stop };
    return this.result(prefix + (changed ? rebuild(ev.raw, obj) : ev.raw));
  }

  /** Call at the end of the upstream stream: releases text still held (as one extra event). */
  end(): EventResult {
    if (this.stop) return { out: '', stop: this.stop };
    return this.result(this.flushAll());
  }

  /** One summary run per filter (action: the strongest seen; ms: summed over all chunks), kept up to date. */
  runs(): GuardRun[] {
    return this.filters.map((f) => f.run);
  }

  private result(out: string): EventResult {
    return this.stop ? { out: '', stop: this.stop } : { out };
  }

  /** An event (or the rest of the stream) that cannot be parsed: every filter records an error. */
  unscannable(raw: string): EventResult {
    for (const f of this.filters) {
      if (f.broken) continue;
      this.fail(f, 'an event of the stream is not JSON and cannot be scanned');
      if (this.stop) return { out: '', stop: this.stop };
    }
    return { out: raw };
  }

  private fail(f: FilterState, why: string): void {
    f.broken = true;
    f.run.action = 'error';
    this.reason(f, { code: 'guard.error', message: why });
    if (!f.slot.shadow && !f.slot.failOpen) this.stop ??= { slot: f.slot };
  }

  private reason(f: FilterState, r: GuardReason): void {
    if (f.codes.has(r.code)) return;
    f.codes.add(r.code);
    f.run.reasons.push(r);
  }

  private note(f: FilterState, v: GuardVerdict | undefined): void {
    if (!v || typeof v !== 'object' || !(v.action in RANK)) return;
    const run = f.run;
    if (RANK[v.action] > RANK[run.action]) run.action = v.action;
    if (typeof v.score === 'number' && Number.isFinite(v.score)) run.score = run.score === null ? v.score : Math.max(run.score, v.score);
    if (Array.isArray(v.reasons)) for (const r of v.reasons) this.reason(f, r);
    if (v.action === 'block' && !f.slot.shadow && !this.stop) this.stop = { slot: f.slot, verdict: v };
  }

  /** Text through every filter; returns what may be sent now. */
  private push(channel: string, text: string): string {
    this.open.add(channel);
    let t = text;
    for (const f of this.filters) {
      if (f.broken) continue;
      const t0 = performance.now();
      try {
        const step = f.filter.push(channel, t);
        this.note(f, step.verdict);
        if (!f.slot.shadow) t = typeof step.release === 'string' ? step.release : '';
      } catch {
        this.fail(f, 'the stream filter threw an error');
      } finally {
        f.run.ms += performance.now() - t0;
      }
      if (this.stop) return '';
    }
    this.remember(channel, t);
    return t;
  }

  /** What the client was sent per channel: only the Responses API repeats full texts that need it. */
  private remember(channel: string, text: string): void {
    if (!this.responses) return;
    this.sentChars += text.length;
    if (this.sentChars > MAX_SENT_CHARS) {
      this.sent.clear();
      return;
    }
    this.sent.set(channel, (this.sent.get(channel) ?? '') + text);
  }

  /** Ends a channel in every filter (each filter's release goes through the filters after it). */
  private endChannel(channel: string): string {
    if (!this.open.delete(channel)) return '';
    let carry = '';
    for (const f of this.filters) {
      if (f.broken) continue;
      const t0 = performance.now();
      try {
        let out = carry;
        if (carry) {
          const s = f.filter.push(channel, carry);
          this.note(f, s.verdict);
          if (!f.slot.shadow) out = typeof s.release === 'string' ? s.release : '';
        }
        const e = f.filter.end(channel);
        this.note(f, e.verdict);
        if (!f.slot.shadow) out += typeof e.release === 'string' ? e.release : '';
        carry = out;
      } catch {
        this.fail(f, 'the stream filter threw an error');
      } finally {
        f.run.ms += performance.now() - t0;
      }
      if (this.stop) return '';
    }
    this.remember(channel, carry);
    return carry;
  }

  /** A full text on a channel (Responses API `done` events and full response objects). */
  private fullText(channel: string, text: string): string {
    if (this.sentChars > MAX_SENT_CHARS) {
      // What was sent is no longer known in full: the field cannot be rebuilt from scanned text.
      for (const f of this.filters) if (!f.broken) this.fail(f, `the stream carries more than ${MAX_SENT_CHARS} characters of text`);
      return this.stop ? '' : text;
    }
    if (this.sent.has(channel)) {
      this.endChannel(channel);
      return this.sent.get(channel)!;
    }
    const first = this.push(channel, text);
    return first + this.endChannel(channel);
  }

  /** Ends every open channel; the released text goes out in extra events (normally none). */
  private flushAll(): string {
    let out = '';
    for (const ch of [...this.open]) {
      const rel = this.endChannel(ch);
      if (this.stop) return '';
      if (rel) out += this.releaseEvent(ch, rel);
    }
    return out;
  }

  /** An event carrying text released at the end of a stream that did not end the channel itself. */
  private releaseEvent(channel: string, text: string): string {
    const p = channel.split('/');
    if (this.responses) {
      const t = this.deltaOf.get(channel);
      return t ? sseEvent({ ...t, delta: text }) : '';
    }
    const base: Obj = {};
    for (const k of ['id', 'object', 'created', 'model']) if (this.lastChunk && this.lastChunk[k] !== undefined) base[k] = this.lastChunk[k];
    const index = Number(p[1]);
    let choice: Obj;
    if (p[2] === 'text') choice = { index, text, finish_reason: null };
    else if (p[2] === 'tool_calls') choice = { index, delta: { tool_calls: [{ index: Number(p[3]), function: { arguments: text } }] }, finish_reason: null };
    else if (p[2] === 'function_call') choice = { index, delta: { function_call: { arguments: text } }, finish_reason: null };
    else choice = { index, delta: { [p[2] ?? 'content']: text }, finish_reason: null };
    return `data: ${JSON.stringify({ ...base, choices: [choice] })}\n\n`;
  }

  /** Chat completions and completions chunks. */
  private choicesEvent(obj: Obj): boolean {
    if (!Array.isArray(obj.choices)) return false;
    this.lastChunk = obj;
    let changed = false;
    obj.choices.forEach((c, pos) => {
      if (!isObj(c) || this.stop) return;
      const i = typeof c.index === 'number' ? c.index : pos;
      const base = `choices/${i}`;
      if (this.route === 'openai.completions') {
        if (typeof c.text === 'string' && c.text !== '') {
          c.text = this.push(`${base}/text`, c.text);
          changed = true;
        }
        if (c.finish_reason != null && this.open.has(`${base}/text`)) {
          c.text = (typeof c.text === 'string' ? c.text : '') + this.endChannel(`${base}/text`);
          changed = true;
        }
        return;
      }
      const d = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : null;
      if (d) {
        for (const k of ['content', 'refusal'] as const) {
          if (typeof d[k] === 'string' && d[k] !== '') {
            d[k] = this.push(`${base}/${k}`, d[k]);
            changed = true;
          }
        }
        if (Array.isArray(d.tool_calls)) {
          d.tool_calls.forEach((tc, tpos) => {
            if (!isObj(tc) || !isObj(tc.function) || typeof tc.function.arguments !== 'string' || tc.function.arguments === '') return;
            const k = typeof tc.index === 'number' ? tc.index : tpos;
            tc.function.arguments = this.push(`${base}/tool_calls/${k}/arguments`, tc.function.arguments);
            changed = true;
          });
        }
        if (isObj(d.function_call) && typeof d.function_call.arguments === 'string' && d.function_call.arguments !== '') {
          d.function_call.arguments = this.push(`${base}/function_call/arguments`, d.function_call.arguments);
          changed = true;
        }
      }
      if (c.finish_reason == null) return;
      for (const ch of [...this.open]) {
        if (!ch.startsWith(`${base}/`)) continue;
        const rel = this.endChannel(ch);
        if (!rel) continue;
        const delta: Obj = isObj(c.delta) ? c.delta : (c.delta = {});
        const k = ch.slice(base.length + 1);
        if (k === 'content' || k === 'refusal') {
          delta[k] = (typeof delta[k] === 'string' ? delta[k] : '') + rel;
        } else if (k === 'function_call/arguments') {
          const fc: Obj = isObj(delta.function_call) ? delta.function_call : (delta.function_call = {});
          fc.arguments = (typeof fc.arguments === 'string' ? fc.arguments : '') + rel;
        } else {
          const idx = Number(k.split('/')[1]);
          const list = Array.isArray(delta.tool_calls) ? delta.tool_calls : (delta.tool_calls = []);
          const tc = list.find((t) => isObj(t) && t.index === idx) as Obj | undefined;
          if (tc && isObj(tc.function)) tc.function.arguments = (typeof tc.function.arguments === 'string' ? tc.function.arguments : '') + rel;
          else list.push({ index: idx, function: { arguments: rel } });
        }
        changed = true;
      }
    });
    return changed;
  }

  /** Responses API events. `before` takes an extra event to send first (text held until a done). */
  private responsesEvent(obj: Obj, before: (raw: string) => void): boolean {
    const type = typeof obj.type === 'string' ? obj.type : '';
    const o = typeof obj.output_index === 'number' ? obj.output_index : 0;
    switch (type) {
      case 'response.content_part.added':
      case 'response.content_part.done':
        return isObj(obj.part) ? this.partText(obj.part, `output/${o}/content/${index(obj.content_index)}`) : false;
      case 'response.reasoning_summary_part.added':
      case 'response.reasoning_summary_part.done':
        return isObj(obj.part) ? this.partText(obj.part, `output/${o}/summary/${index(obj.summary_index)}`) : false;
      case 'response.output_item.added':
      case 'response.output_item.done':
        return isObj(obj.item) ? this.itemTexts(obj.item, o) : false;
      default:
        break;
    }
    const m = /^response\.(.+)\.(delta|done)$/.exec(type);
    if (m && !BINARY_DELTAS.has(m[1]!)) {
      const stem = m[1]!;
      const { ch, field } = streamChannel(stem, obj, o);
      if (m[2] === 'delta') {
        if (typeof obj.delta !== 'string' || obj.delta === '') return false;
        if (!this.deltaOf.has(ch)) this.deltaOf.set(ch, deltaTemplate(obj, type));
        obj.delta = this.push(ch, obj.delta);
        return true;
      }
      const rel = this.open.has(ch) ? this.endChannel(ch) : '';
      if (rel && !this.stop) before(sseEvent({ ...deltaTemplate(obj, `response.${stem}.delta`), delta: rel }));
      // The full text is rebuilt from what the client was sent on the channel (or scanned whole when
      // nothing was). A done event this file does not know: every string field but the ids is text.
      const fields = field ? [field] : Object.keys(obj).filter((k) => typeof obj[k] === 'string' && !DONE_IDS.has(k));
      for (const k of fields) {
        if (typeof obj[k] === 'string') obj[k] = this.fullText(fields.length === 1 ? ch : `${ch}/${k}`, obj[k]);
      }
      return true;
    }
    if (isObj(obj.response)) {
      const r = obj.response;
      let changed = false;
      if (Array.isArray(r.output)) r.output.forEach((it, i) => isObj(it) && this.itemTexts(it, i) && (changed = true));
      if (typeof r.output_text === 'string' && r.output_text !== '') {
        r.output_text = this.fullText('output_text', r.output_text);
        changed = true;
      }
      return changed;
    }
    return false;
  }

  private partText(part: Obj, ch: string): boolean {
    for (const k of ['text', 'refusal'] as const) {
      if (typeof part[k] === 'string' && (part[k] !== '' || this.sent.has(ch))) {
        part[k] = part[k] === '' && this.open.has(ch) ? '' : this.fullText(ch, part[k]);
        return true;
      }
    }
    return false;
  }

  private itemTexts(item: Obj, o: number): boolean {
    let changed = false;
    if (typeof item.arguments === 'string' && item.arguments !== '') {
      item.arguments = this.fullText(`output/${o}/arguments`, item.arguments);
      changed = true;
    }
    if (typeof item.input === 'string' && item.input !== '') {
      item.input = this.fullText(`output/${o}/input`, item.input);
      changed = true;
    }
    if (typeof item.code === 'string' && item.code !== '') {
      item.code = this.fullText(`output/${o}/code`, item.code);
      changed = true;
    }
    if (Array.isArray(item.summary)) {
      item.summary.forEach((p, j) => {
        if (isObj(p) && this.partText(p, `output/${o}/summary/${j}`)) changed = true;
      });
    }
    if (Array.isArray(item.content)) {
      item.content.forEach((p, j) => {
        if (isObj(p) && this.partText(p, `output/${o}/content/${j}`)) changed = true;
      });
    }
    return changed;
  }
}

/** Delta events whose `delta` is not text (base64 audio): text filters cannot read them. */
const BINARY_DELTAS: ReadonlySet<string> = new Set(['audio']);

/** String fields of a `done` event that identify it rather than carry text. */
const DONE_IDS: ReadonlySet<string> = new Set(['type', 'id', 'item_id', 'response_id', 'obfuscation']);

const index = (v: unknown): number => (typeof v === 'number' ? v : 0);

/**
 * The channel a Responses API `response.{stem}.delta` / `.done` event writes to, and the full-text
 * field of its `done` (null: not known, every string field but the ids is text). Known stems share
 * the channels of the output items that repeat their text, so those are rebuilt from what was sent.
 */
function streamChannel(stem: string, obj: Obj, o: number): { ch: string; field: string | null } {
  switch (stem) {
    case 'output_text':
    case 'reasoning_text':
      return { ch: `output/${o}/content/${index(obj.content_index)}`, field: 'text' };
    case 'refusal':
      return { ch: `output/${o}/content/${index(obj.content_index)}`, field: 'refusal' };
    case 'function_call_arguments':
    case 'mcp_call_arguments':
      return { ch: `output/${o}/arguments`, field: 'arguments' };
    case 'custom_tool_call_input':
      return { ch: `output/${o}/input`, field: 'input' };
    case 'reasoning_summary_text':
      return { ch: `output/${o}/summary/${index(obj.summary_index)}`, field: 'text' };
    case 'code_interpreter_call_code':
      return { ch: `output/${o}/code`, field: 'code' };
    default: {
      const idx = Object.keys(obj)
        .filter((k) => k.endsWith('_index') && k !== 'output_index' && typeof obj[k] === 'number')
        .sort()
        .map((k) => `/${String(obj[k])}`);
      return { ch: `output/${o}/${stem}${idx.join('')}`, field: null };
    }
  }
}

/** A delta event's type, item id and indexes (no text, no sequence number). */
function deltaTemplate(obj: Obj, type: string): Obj {
  const t: Obj = { type };
  if (typeof obj.item_id === 'string') t.item_id = obj.item_id;
  for (const k of Object.keys(obj)) if (k.endsWith('_index') && typeof obj[k] === 'number') t[k] = obj[k];
  return t;
}

const sseEvent = (obj: Obj): string => `event: ${String(obj.type)}\ndata: ${JSON.stringify(obj)}\n\n`;

/** The event with its data lines replaced by `obj` (other fields such as `event:` kept, in order). */
function rebuild(raw: string, obj: Obj): string {
  let out = '';
  let wroteData = false;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line === '') continue;
    if (line.startsWith('data:')) {
      if (!wroteData) out += `data: ${JSON.stringify(obj)}\n`;
      wroteData = true;
      continue;
    }
    out += `${line}\n`;
  }
  return `${out}\n`;
}
