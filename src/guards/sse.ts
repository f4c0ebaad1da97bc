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
//   leaves             {channel}/{path}: each string leaf of an object- or array-valued delta (a chat
//                      delta field not named above, e.g. choices/0/reasoning_content, choices/0/audio/transcript;
//                      a `response.{event}.delta` whose delta is not a string: output/{o}/{event}/delta/...);
//                      array elements named by their `index` field when they have one, else by position
//   whole strings      the JSON pointer of the string in the event (/error/message): every other string
//                      not known to be non-text (src/guards/text-leaves.ts), scanned whole in its event
import { performance } from 'node:perf_hooks';
import type { GuardRun, GuardSlot } from './pipeline.js';
import type { GuardAction, GuardReason, GuardVerdict, StreamTextFilter } from './types.js';
import { stripLogprobs } from './text.js';
import { blank, placeLeaf } from './sse-leaves.js';
import { isNonText, MAX_TEXT_DEPTH, segPath, textLeaves, type Seg } from './text-leaves.js';

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

/**
 * Most channels open at once. Each string leaf of an object-valued delta is a channel, so a hostile
 * upstream could otherwise open one per leaf of every event and keep their held text for the whole
 * stream; past it each filter's onError decides.
 */
export const MAX_OPEN_CHANNELS = 10_000;

interface FilterState extends StreamFilterSlot {
  /** The filter's summary, updated in place (the audit record may be written before the stream ends). */
  run: GuardRun;
  codes: Set<string>;
  broken: boolean;
}

/** A channel that is a string leaf of an object-valued delta: where it sits, and the channel of the delta it belongs to. */
interface Leaf {
  path: Seg[];
  skel: unknown;
  group: string;
}

/** A channel's leaf path in an object-valued delta, and its Responses API delta event. */
interface Shape {
  leaf: Leaf | undefined;
  template: Obj | undefined;
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
  /**
   * Channels that are string leaves of an object- or array-valued delta: the leaf's path (from the
   * chat delta, or from the Responses event with `delta` first) and a blanked copy of the value at
   * the path's first key, to put text released later in the same shape.
   */
  private readonly leafOf = new Map<string, Leaf>();
  /** Fields of the current event already scanned by the walk that knows its shape (and whole subtrees). */
  private handled = new WeakMap<object, Set<string | number>>();

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
    this.handled = new WeakMap();
    // An upstream error event goes through the same walk: a bare one comes out unchanged, and text
    // beside the error (choices, a response object) is scanned like anywhere else.
    let prefix = '';
    let suffix = '';
    // Token log-probabilities spell the text out unscanned: dropped while any filter enforces.
    const stripped = this.enforcing && stripLogprobs(obj);
    let changed = (this.responses ? this.responsesEvent(obj, (extra) => (prefix += extra)) : this.choicesEvent(obj, (extra) => (suffix += extra))) || stripped;
    if (this.stop) return { out: '', stop: this.stop };
    // Every string the walk above did not take (a field or event type it does not know) is scanned
    // whole, unless it is known not to be text (ids, type tags, base64 audio).
    if (this.wholeLeaves(obj)) changed = true;
    if (this.stop) return { out: '', stop: this.stop };
    let body = ev.raw;
    if (changed) {
      try {
        body = rebuild(ev.raw, obj);
      } catch {
        // JSON.stringify runs out of stack on a value nested thousands deep (the walks stop at 64).
        this.failAll('an event of the stream is nested too deeply to be written back');
        if (this.stop) return { out: '', stop: this.stop };
      }
    }
    return this.result(prefix + body + suffix);
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

  /** Every filter that still works records an error (each one's onError decides whether the stream stops). */
  private failAll(why: string): void {
    for (const f of this.filters) if (!f.broken) this.fail(f, why);
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

  /** Text through every filter; returns what may be sent now. `keep`: remember it as sent on the channel. */
  private push(channel: string, text: string, keep = true): string {
    if (!this.open.has(channel) && this.open.size >= MAX_OPEN_CHANNELS) {
      this.failAll(`the stream has more than ${MAX_OPEN_CHANNELS} text channels open at once`);
      if (this.stop) return '';
      // Every filter fails open from here: the text goes on unscanned, as onError allows.
      return text;
    }
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
    if (keep) this.remember(channel, t);
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
  private endChannel(channel: string, keep = true): string {
    if (!this.open.delete(channel)) return '';
    this.leafOf.delete(channel);
    this.deltaOf.delete(channel);
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
    if (keep) this.remember(channel, carry);
    return carry;
  }

  /**
   * A string no channel streams (a field this file does not know, outside any delta): scanned whole
   * on a channel named by its JSON pointer in the event (`/error/message`), which no streamed
   * channel name starts like, and not remembered as sent.
   */
  private scanWhole(channel: string, text: string): string {
    const first = this.push(channel, text, false);
    if (this.stop) return '';
    return first + this.endChannel(channel, false);
  }

  /** Marks `holder[key]` as taken by the walk that knows the shape (the whole-text walk skips it and all under it). */
  private mark(holder: object, key: string | number): void {
    let keys = this.handled.get(holder);
    if (!keys) this.handled.set(holder, (keys = new Set()));
    keys.add(key);
  }

  private put(holder: Obj | unknown[], key: string | number, value: string): void {
    (holder as Record<string | number, unknown>)[key] = value;
    this.mark(holder, key);
  }

  private readonly isHandled = (holder: object, key: string | number): boolean => this.handled.get(holder)?.has(key) === true;

  /** Scans every string of the event no other walk took, each whole; true when one changed. */
  private wholeLeaves(obj: Obj): boolean {
    const leaves = textLeaves(obj, { skip: this.isHandled });
    if (!leaves) {
      this.failAll(`an event of the stream nests deeper than ${MAX_TEXT_DEPTH} levels and cannot be scanned`);
      return false;
    }
    let changed = false;
    for (const l of leaves) {
      const t = this.scanWhole(l.pointer, l.text);
      if (this.stop) return false;
      if (t !== l.text) {
        (l.holder as Record<string | number, unknown>)[l.key] = t;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Streams every text leaf under `top[key]` (an object- or array-valued delta, or a chat delta's
   * fields no other code knows) on a channel of its own, `${base}/${path}`, with the hold-back and
   * release rules of a string delta. `template`: the Responses API delta event to release text in.
   */
  private streamLeaves(top: Obj, key: string | null, base: string, template: Obj | null): boolean {
    const root = key === null ? top : top[key];
    if (typeof root !== 'object' || root === null) return false;
    const leaves = textLeaves(root as Obj | unknown[], { rootPath: key === null ? [] : [key], ...(key === null ? {} : { rootKey: key }), skip: this.isHandled });
    if (!leaves) {
      this.failAll(`an event of the stream nests deeper than ${MAX_TEXT_DEPTH} levels and cannot be scanned`);
      return false;
    }
    const skels = new Map<string, unknown>();
    let changed = false;
    for (const l of leaves) {
      const ch = `${base}/${segPath(l.path)}`;
      const first = String(l.path[0]);
      if (!skels.has(first)) skels.set(first, blank(top[first], first, top));
      this.leafOf.set(ch, { path: l.path, skel: skels.get(first), group: base });
      if (template && !this.deltaOf.has(ch)) this.deltaOf.set(ch, template);
      const t = this.push(ch, l.text);
      if (this.stop) return false;
      this.put(l.holder, l.key, t);
      if (t !== l.text) changed = true;
    }
    return changed;
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
    // Leaves of one object-valued delta go out together, in one copy of its shape.
    const groups = new Map<string, { ch: string; items: { shape: Shape; rel: string }[] }>();
    for (const ch of [...this.open]) {
      const shape = this.shapeOf(ch);
      const rel = this.endChannel(ch);
      if (this.stop) return '';
      if (!rel) continue;
      if (!shape.leaf) {
        out += this.releaseEvent(ch, rel, shape);
        continue;
      }
      const g = groups.get(shape.leaf.group) ?? { ch, items: [] };
      g.items.push({ shape, rel });
      groups.set(shape.leaf.group, g);
    }
    for (const g of groups.values()) out += this.leafRelease(g.ch, g.items);
    return out;
  }

  /**
   * One event with the text released on leaf channels of one delta (one group), all placed in one
   * copy of its shape: the size of the release is that of the delta, whatever the number of leaves.
   * A leaf whose path clashes with another's goes out in an event of its own.
   */
  private leafRelease(channel: string, items: readonly { shape: Shape; rel: string }[]): string {
    const fresh = (): { ev: Obj; holder: Obj } => {
      if (this.responses) {
        const ev: Obj = { ...(items[0]?.shape.template ?? {}) };
        return { ev, holder: ev };
      }
      const base: Obj = {};
      for (const k of ['id', 'object', 'created', 'model']) if (this.lastChunk && this.lastChunk[k] !== undefined) base[k] = this.lastChunk[k];
      const delta: Obj = {};
      return { ev: { ...base, choices: [{ index: Number(channel.split('/')[1]), delta, finish_reason: null }] }, holder: delta };
    };
    const write = (ev: Obj): string => (this.responses ? sseEvent(ev) : `data: ${JSON.stringify(ev)}\n\n`);
    const main = fresh();
    let extra = '';
    for (const { shape, rel } of items) {
      const leaf = shape.leaf!;
      if (placeLeaf(main.holder, leaf.path, leaf.skel, rel)) continue;
      const own = fresh();
      placeLeaf(own.holder, leaf.path, leaf.skel, rel); // an empty holder has no clash
      extra += write(own.ev);
    }
    return write(main.ev) + extra;
  }

  /** What a release event on the channel looks like (read before the channel ends: ending forgets it). */
  private shapeOf(channel: string): Shape {
    return { leaf: this.leafOf.get(channel), template: this.deltaOf.get(channel) };
  }

  /** An event carrying text released at the end of a stream that did not end the channel itself. */
  private releaseEvent(channel: string, text: string, shape: Shape): string {
    const p = channel.split('/');
    const { leaf, template: t } = shape;
    if (leaf) return this.leafRelease(channel, [{ shape, rel: text }]);
    if (this.responses) return t ? sseEvent({ ...t, delta: text }) : '';
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

  /** Chat completions and completions chunks. `after` takes an extra event to send after this one. */
  private choicesEvent(obj: Obj, after: (raw: string) => void): boolean {
    if (!Array.isArray(obj.choices)) return false;
    this.lastChunk = obj;
    let changed = false;
    obj.choices.forEach((c, pos) => {
      if (!isObj(c) || this.stop) return;
      const i = typeof c.index === 'number' ? c.index : pos;
      const base = `choices/${i}`;
      if (this.route === 'openai.completions') {
        if (typeof c.text === 'string' && c.text !== '') {
          this.put(c, 'text', this.push(`${base}/text`, c.text));
          changed = true;
        }
        if (c.finish_reason != null && this.open.has(`${base}/text`)) {
          this.put(c, 'text', (typeof c.text === 'string' ? c.text : '') + this.endChannel(`${base}/text`));
          changed = true;
        }
        return;
      }
      const dk = isObj(c.delta) ? 'delta' : isObj(c.message) ? 'message' : null;
      const d = dk ? (c[dk] as Obj) : null;
      if (d && dk) {
        for (const k of ['content', 'refusal'] as const) {
          if (typeof d[k] === 'string' && d[k] !== '') {
            this.put(d, k, this.push(`${base}/${k}`, d[k]));
            changed = true;
          }
        }
        // A function name is an identifier sent whole in one chunk: scanned whole there, not held back.
        const name = (fn: Obj, ptr: string): void => {
          if (typeof fn.name !== 'string' || fn.name === '' || this.stop) return;
          const n = this.scanWhole(ptr, fn.name);
          if (n !== fn.name) changed = true;
          this.put(fn, 'name', n);
        };
        if (Array.isArray(d.tool_calls)) {
          d.tool_calls.forEach((tc, tpos) => {
            if (!isObj(tc) || !isObj(tc.function) || this.stop) return;
            name(tc.function, `/choices/${pos}/${dk}/tool_calls/${tpos}/function/name`);
            if (typeof tc.function.arguments !== 'string' || tc.function.arguments === '' || this.stop) return;
            const k = typeof tc.index === 'number' ? tc.index : tpos;
            this.put(tc.function, 'arguments', this.push(`${base}/tool_calls/${k}/arguments`, tc.function.arguments));
            changed = true;
          });
        }
        if (isObj(d.function_call)) {
          name(d.function_call, `/choices/${pos}/${dk}/function_call/name`);
          if (typeof d.function_call.arguments === 'string' && d.function_call.arguments !== '' && !this.stop) {
            this.put(d.function_call, 'arguments', this.push(`${base}/function_call/arguments`, d.function_call.arguments));
            changed = true;
          }
        }
        if (this.stop) return;
        // Every other text of the delta (reasoning_content, audio.transcript, fields newer than the
        // gateway, object- and array-valued ones): a channel per string leaf, streamed like content.
        if (this.streamLeaves(d, null, base, null)) changed = true;
        this.mark(c, dk);
        if (this.stop) return;
      }
      if (c.finish_reason == null) return;
      for (const ch of [...this.open]) {
        if (!ch.startsWith(`${base}/`)) continue;
        const shape = this.shapeOf(ch);
        const rel = this.endChannel(ch);
        if (!rel) continue;
        const delta: Obj = isObj(c.delta) ? c.delta : (c.delta = {});
        this.mark(c, 'delta');
        const k = ch.slice(base.length + 1);
        const leaf = shape.leaf;
        if (leaf) {
          // In this chunk's delta when the path is free or a string there, else in a chunk of its own after it.
          if (!placeLeaf(delta, leaf.path, leaf.skel, rel)) after(this.releaseEvent(ch, rel, shape));
        } else if (k === 'content' || k === 'refusal') {
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
    if (m) {
      const stem = m[1]!;
      const { ch, field } = streamChannel(stem, obj, o);
      if (m[2] === 'delta') {
        if (typeof obj.delta === 'string') {
          this.mark(obj, 'delta');
          // A string delta of audio is base64 audio, not text.
          if (obj.delta === '' || BINARY_DELTAS.has(stem)) return false;
          if (!this.deltaOf.has(ch)) this.deltaOf.set(ch, deltaTemplate(obj, type));
          this.put(obj, 'delta', this.push(ch, obj.delta));
          return true;
        }
        // An object or array delta: each string leaf streams on a channel of its own, `${ch}/delta/...`.
        const changed = this.streamLeaves(obj, 'delta', ch, deltaTemplate(obj, type));
        this.mark(obj, 'delta');
        return changed;
      }
      let changed = false;
      const rel = this.open.has(ch) ? this.endChannel(ch) : '';
      if (rel && !this.stop) before(sseEvent({ ...deltaTemplate(obj, `response.${stem}.delta`), delta: rel }));
      // Held text of the leaves of object-valued deltas: in one delta event shaped like theirs.
      const items: { shape: Shape; rel: string }[] = [];
      for (const lc of [...this.open]) {
        const shape = this.shapeOf(lc);
        if (this.stop || shape.leaf?.group !== ch) continue;
        const lrel = this.endChannel(lc);
        if (lrel) items.push({ shape, rel: lrel });
      }
      if (items.length > 0 && !this.stop) before(this.leafRelease(ch, items));
      if (this.stop || BINARY_DELTAS.has(stem)) return false;
      // The full text is rebuilt from what the client was sent on the channel (or scanned whole when
      // nothing was). A done event this file does not know: every string field but the ids is text
      // (object-valued fields are scanned whole by the walk over the rest of the event).
      const fields = field ? [field] : Object.keys(obj).filter((k) => typeof obj[k] === 'string' && obj[k] !== '' && !isNonText(obj, k));
      for (const k of fields) {
        const v = obj[k];
        if (typeof v !== 'string') continue;
        this.put(obj, k, this.fullText(fields.length === 1 ? ch : `${ch}/${k}`, v));
        changed = true;
      }
      return changed;
    }
    if (isObj(obj.response)) {
      const r = obj.response;
      let changed = false;
      if (Array.isArray(r.output)) r.output.forEach((it, i) => isObj(it) && this.itemTexts(it, i) && (changed = true));
      if (typeof r.output_text === 'string' && r.output_text !== '') {
        this.put(r, 'output_text', this.fullText('output_text', r.output_text));
        changed = true;
      }
      return changed;
    }
    return false;
  }

  private partText(part: Obj, ch: string): boolean {
    for (const k of ['text', 'refusal'] as const) {
      if (typeof part[k] === 'string' && (part[k] !== '' || this.sent.has(ch))) {
        this.put(part, k, part[k] === '' && this.open.has(ch) ? '' : this.fullText(ch, part[k]));
        return true;
      }
    }
    return false;
  }

  private itemTexts(item: Obj, o: number): boolean {
    let changed = false;
    if (typeof item.arguments === 'string' && item.arguments !== '') {
      this.put(item, 'arguments', this.fullText(`output/${o}/arguments`, item.arguments));
      changed = true;
    }
    if (typeof item.input === 'string' && item.input !== '') {
      this.put(item, 'input', this.fullText(`output/${o}/input`, item.input));
      changed = true;
    }
    if (typeof item.code === 'string' && item.code !== '') {
      this.put(item, 'code', this.fullText(`output/${o}/code`, item.code));
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
