// SseGuard on its own: channels per request shape, text chained through several filters, held
// text released on finish_reason / [DONE] / the end, shadow filters seeing but not changing text,
// filters that throw, and events that are not JSON.
import { describe, expect, it } from 'vitest';
import type { GuardSlot } from './pipeline.js';
import { SseGuard } from './sse.js';
import type { StreamTextFilter } from './types.js';

function slot(name: string, over: Partial<GuardSlot> = {}): GuardSlot {
  return { guard: { name, kind: 'k', supports: () => true }, name, kind: 'k', shadow: false, failOpen: false, timeoutMs: 100, routes: null, models: () => true, ...over };
}

/** Replaces `from` with `to`, holding back len(from)-1 characters; logs every call. */
function replacer(from: string, to: string, log: string[] = []): StreamTextFilter {
  const buf = new Map<string, string>();
  const step = (ch: string, final: boolean) => {
    let t = buf.get(ch) ?? '';
    const hit = t.includes(from);
    t = t.split(from).join(to);
    const keep = final ? 0 : Math.min(from.length - 1, t.length);
    buf.set(ch, t.slice(t.length - keep));
    return { release: t.slice(0, t.length - keep), ...(hit ? { verdict: { action: 'redact' as const, reasons: [{ code: 'x.hit', message: 'hit' }] } } : {}) };
  };
  return {
    maxHoldBack: from.length - 1,
    push: (ch, text) => {
      log.push(`push ${ch} ${text}`);
      buf.set(ch, (buf.get(ch) ?? '') + text);
      return step(ch, false);
    },
    end: (ch) => {
      log.push(`end ${ch}`);
      return step(ch, true);
    },
  };
}

const ev = (obj: unknown) => ({ raw: `data: ${JSON.stringify(obj)}\n\n`, data: JSON.stringify(obj) });
const done = { raw: 'data: [DONE]\n\n', data: '[DONE]' };
const payloads = (out: string) => out.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));

describe('SseGuard', () => {
  it('keeps tool-call arguments and content apart per choice and releases each at its finish_reason', () => {
    const g = new SseGuard('openai.chat.completions', [{ slot: slot('a'), filter: replacer('KEY', '***') }]);
    const outs = [
      ev({ choices: [{ index: 0, delta: { content: 'a K' } }, { index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: '{"k":"KE' } }] } }] }),
      ev({ choices: [{ index: 0, delta: { content: 'EY b' } }, { index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: 'Y"}' } }] } }] }),
      ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }, { index: 1, delta: {}, finish_reason: 'tool_calls' }] }),
      done,
    ].map((e) => g.event(e).out);
    expect(outs.length).toBe(4);
    const chunks = outs.slice(0, 3).map((o) => JSON.parse(payloads(o)[0]!));
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('a *** b');
    expect(chunks.map((c) => c.choices[1].delta.tool_calls?.[0]?.function?.arguments ?? '').join('')).toBe('{"k":"***"}');
    expect(outs[3]).toBe('data: [DONE]\n\n');
    expect(g.runs()[0]).toMatchObject({ action: 'redact', phase: 'stream', reasons: [{ code: 'x.hit' }] });
  });

  it('chains filters in order and leaves text alone for a shadow filter', () => {
    const log: string[] = [];
    const g = new SseGuard('openai.completions', [
      { slot: slot('first'), filter: replacer('ab', 'X') },
      { slot: slot('watch', { shadow: true }), filter: replacer('X', 'Y', log) },
    ]);
    const out = [ev({ choices: [{ index: 0, text: 'zab' }] }), ev({ choices: [{ index: 0, text: 'c', finish_reason: 'length' }] })].map((e) => g.event(e).out).join('');
    const texts = payloads(out).map((p) => JSON.parse(p).choices[0].text);
    expect(texts.join('')).toBe('zXc');
    // The shadow filter saw what the first one released, and changed nothing.
    expect(log.slice(0, 2)).toEqual(['push choices/0/text z', 'push choices/0/text X']);
    expect(g.runs().map((r) => [r.name, r.action, r.shadow])).toEqual([
      ['first', 'redact', false],
      ['watch', 'redact', true],
    ]);
  });

  it('sends held text in one extra chunk when [DONE] comes without a finish_reason', () => {
    const g = new SseGuard('openai.chat.completions', [{ slot: slot('a'), filter: replacer('LONGWORD', '-') }]);
    const first = g.event(ev({ id: 'c9', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' } }] })).out;
    expect(JSON.parse(payloads(first)[0]!).choices[0].delta.content).toBe('');
    const last = g.event(done).out;
    const p = payloads(last);
    expect(p.length).toBe(2);
    expect(JSON.parse(p[0]!)).toMatchObject({ id: 'c9', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' } }] });
    expect(p[1]).toBe('[DONE]');
  });

  it('stops on a filter that throws when it fails closed, passes text on when it fails open', () => {
    const bad: StreamTextFilter = { maxHoldBack: 0, push: () => { throw new Error('x'); }, end: () => ({ release: '' }) };
    const closed = new SseGuard('openai.chat.completions', [{ slot: slot('bad'), filter: bad }]);
    const r = closed.event(ev({ choices: [{ index: 0, delta: { content: 'x' } }] }));
    expect(r.out).toBe('');
    expect(r.stop?.slot.name).toBe('bad');
    const open = new SseGuard('openai.chat.completions', [{ slot: slot('bad', { failOpen: true }), filter: bad }]);
    const o = open.event(ev({ choices: [{ index: 0, delta: { content: 'x' } }] }));
    expect(o.stop).toBeUndefined();
    expect(JSON.parse(payloads(o.out)[0]!).choices[0].delta.content).toBe('x');
    expect(open.runs()[0]).toMatchObject({ action: 'error', reasons: [{ code: 'guard.error' }] });
  });

  it('refuses to pass an event that is not JSON through a fail-closed filter, and keeps comments', () => {
    const g = new SseGuard('openai.chat.completions', [{ slot: slot('a'), filter: replacer('K', '-') }]);
    expect(g.event({ raw: ': ping\n\n', data: '' }).out).toBe(': ping\n\n');
    const r = g.event({ raw: 'data: secret not json\n\n', data: 'secret not json' });
    expect(r.out).toBe('');
    expect(r.stop?.verdict).toBeUndefined();
  });

  it('drops token log-probabilities (they spell the text out unscanned) while a filter enforces, not in shadow mode', () => {
    const lp = { content: [{ token: 'KEY', logprob: -0.1, bytes: [75, 69, 89], top_logprobs: [] }] };
    const enforce = new SseGuard('openai.chat.completions', [{ slot: slot('a'), filter: replacer('KEY', '***') }]);
    const out = [ev({ choices: [{ index: 0, delta: { content: 'a KEY b' }, logprobs: lp }] }), ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), done]
      .map((e) => enforce.event(e).out)
      .join('');
    expect(out).not.toContain('KEY');
    expect(JSON.parse(payloads(out)[0]!).choices[0].logprobs).toBeNull();
    const shadow = new SseGuard('openai.chat.completions', [{ slot: slot('a', { shadow: true }), filter: replacer('KEY', '***') }]);
    const seen = shadow.event(ev({ choices: [{ index: 0, delta: { content: 'x' }, logprobs: lp }] })).out;
    expect(JSON.parse(payloads(seen)[0]!).choices[0].logprobs).toEqual(lp);
    // Responses API: the logprobs of an output-text delta go too.
    const r = new SseGuard('openai.responses', [{ slot: slot('a'), filter: replacer('KEY', '***') }]);
    const rout = r.event(ev({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: 'hi', logprobs: [{ token: 'KEY', logprob: -1 }] })).out;
    expect(rout).not.toContain('KEY');
  });
});
