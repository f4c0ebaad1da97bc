import { describe, expect, it } from 'vitest';
import { SseScanner, normalizeUsage, usageFromEvent, usageFromJson, usageFromJsonBody, usageFromJsonTail } from './usage.js';

/** Deterministic PRNG (mulberry32) so the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STREAM =
  'data: {"choices":[{"delta":{"content":"héllo"}}],"usage":null}\n\n' +
  ': keep-alive comment\r\n\r\n' +
  'event: message\ndata: {"choices":[{"delta":{"content":"€"}}]}\n\n' +
  'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\n' +
  'data: [DONE]\n\n';

describe('SSE scanner', () => {
  it('splits events the same way whatever the chunk boundaries (also inside UTF-8 characters)', () => {
    const bytes = Buffer.from(STREAM);
    const whole = new SseScanner().feed(bytes);
    expect(whole.map((e) => e.data)).toEqual([
      '{"choices":[{"delta":{"content":"héllo"}}],"usage":null}',
      '',
      '{"choices":[{"delta":{"content":"€"}}]}',
      '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}',
      '[DONE]',
    ]);
    const rand = rng(42);
    for (let round = 0; round < 200; round++) {
      const s = new SseScanner();
      const events = [];
      let i = 0;
      while (i < bytes.length) {
        const n = 1 + Math.floor(rand() * 20);
        events.push(...s.feed(bytes.subarray(i, i + n)));
        i += n;
      }
      expect(events.map((e) => e.raw).join('') + s.rest()).toBe(STREAM);
      expect(events.map((e) => e.data)).toEqual(whole.map((e) => e.data));
    }
  });

  it('finds the usage and marks the usage-only chunk', () => {
    const evs = new SseScanner().feed(Buffer.from(STREAM));
    expect(usageFromEvent(evs[0]!)).toEqual({ usage: null, usageOnly: false });
    expect(usageFromEvent(evs[3]!)).toEqual({ usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 }, usageOnly: true });
  });

  it('reads Responses API usage from response.completed', () => {
    const ev = new SseScanner().feed(Buffer.from('event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":4,"output_tokens":6,"total_tokens":10}}}\n\n'));
    expect(usageFromEvent(ev[0]!).usage).toEqual({ promptTokens: 4, completionTokens: 6, totalTokens: 10 });
  });

  it('survives garbage: mutated streams never throw and an endless event is given back, not held', () => {
    const rand = rng(7);
    const base = Buffer.from(STREAM);
    for (let round = 0; round < 300; round++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 8; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const s = new SseScanner();
      for (const ev of s.feed(b)) expect(() => usageFromEvent(ev)).not.toThrow();
      s.rest();
    }
    const s = new SseScanner();
    const big = Buffer.alloc(1024 * 1024 + 10, 0x61);
    const out = s.feed(big);
    expect(s.overflowed).toBe(true);
    expect(out[0]!.raw.length).toBe(big.length);
  });
});

describe('usage normalisation', () => {
  it('accepts both OpenAI shapes and rejects junk', () => {
    expect(normalizeUsage({ prompt_tokens: 3, total_tokens: 3 })).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 });
    expect(normalizeUsage({ input_tokens: 1, output_tokens: 2 })).toEqual({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    expect(normalizeUsage({ prompt_tokens: -1 })).toBeNull();
    expect(normalizeUsage('x')).toBeNull();
    expect(usageFromJson({ usage: { prompt_tokens: 'many' } })).toBeNull();
    expect(usageFromJson(null)).toBeNull();
  });
});

describe('usage read from the end of a JSON body', () => {
  const full = (doc: string): unknown => usageFromJson(JSON.parse(doc));

  it('reads an upstream answer from its last members', () => {
    const doc = JSON.stringify({
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'say "usage":{"prompt_tokens":0} \\" \\\\' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 200, completion_tokens: 180, total_tokens: 380 },
      system_fingerprint: 'fp_1',
    });
    expect(usageFromJsonTail(Buffer.from(doc))).toEqual({ promptTokens: 200, completionTokens: 180, totalTokens: 380 });
  });

  it('leaves to the full parse what the end does not settle', () => {
    // usage first, then more than the window; an escaped key; a Responses body without top-level usage.
    const far = JSON.stringify({ usage: { prompt_tokens: 1, total_tokens: 1 }, choices: [{ text: 'y'.repeat(5000) }] });
    const escaped = '{"us\\u0061ge":{"prompt_tokens":3,"total_tokens":4}}';
    const nested = JSON.stringify({ response: { usage: { input_tokens: 2, output_tokens: 3 } } });
    for (const doc of [far, escaped, nested, '[1,2]', '{}', '{"usage":null}']) {
      expect(usageFromJsonTail(Buffer.from(doc))).toBeUndefined();
      expect(usageFromJsonBody(Buffer.from(doc))).toEqual(full(doc));
    }
    expect(usageFromJsonBody(Buffer.from(escaped))).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 4 });
    expect(usageFromJsonBody(Buffer.from('not json'))).toBeNull();
  });

  it('counts the usage member of a body whose beginning is broken (the full parse would give none)', () => {
    const doc = '{"choices":[{"text":"cut off here, "usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}';
    expect(() => JSON.parse(doc)).toThrow();
    expect(usageFromJsonBody(Buffer.from(doc))).toEqual({ promptTokens: 7, completionTokens: 1, totalTokens: 8 });
  });

  it('gives the full parse\'s answer on seeded valid documents (strings with escapes, nesting, duplicate keys)', () => {
    const rnd = rng(1129);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const PIECES = ['a', 'usage', '"', '\\', '\\"', '\\\\', '{', '}', '[', ']', ':', ',', ' ', '\n', '\t', 'é', '€', '😀', '"usage":{"prompt_tokens":9}', '\u0001'];
    const str = (): string => Array.from({ length: Math.floor(rnd() * 8) }, () => pick(PIECES)).join('');
    const usageValue = (): unknown =>
      pick([
        () => ({ prompt_tokens: Math.floor(rnd() * 1000), completion_tokens: Math.floor(rnd() * 1000), total_tokens: Math.floor(rnd() * 2000) }),
        () => ({ input_tokens: Math.floor(rnd() * 100), output_tokens: Math.floor(rnd() * 100) }),
        () => ({ prompt_tokens: rnd() * 10, total_tokens: 1e2 }),
        () => ({ prompt_tokens: -1 }),
        () => ({ prompt_tokens: str() }),
        () => null,
        () => ({}),
        () => str(),
        () => [1, 2],
      ])();
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 2 || r < 0.3) return pick([() => str(), () => Math.floor(rnd() * 1e6) / 100, () => -rnd() * 1e-7, () => true, () => false, () => null])();
      if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let n = Math.floor(rnd() * 4); n > 0; n--) o[rnd() < 0.2 ? 'usage' : str()] = rnd() < 0.2 ? usageValue() : value(depth + 1);
      return o;
    };
    let viaTail = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      const o: Record<string, unknown> = {};
      for (const k of ['id', 'object', 'choices', 'usage', 'response', 'usag', 'usagex', 'system_fingerprint', str()]) {
        if (rnd() < 0.5) continue;
        o[k] = k === 'usage' ? usageValue() : k === 'response' && rnd() < 0.5 ? { usage: usageValue() } : value(0);
      }
      if (rnd() < 0.7) o.usage = usageValue(); // often, and often last
      let doc = JSON.stringify(o, null, pick([0, 2, '\t']));
      if (rnd() < 0.15) doc = doc.replace(/^\{/, `{"usage":${JSON.stringify(usageValue())}${Object.keys(o).length ? ',' : ''}`); // a duplicate key
      if (rnd() < 0.05) doc = doc.replace('"usage":', '"us\\u0061ge":');
      // Number spellings JSON.stringify never writes, and a count repeated inside usage (the last one wins).
      if (rnd() < 0.15) doc = doc.replace(/"(prompt|total)_tokens":\s*[0-9.]+/g, (m) => `${m.slice(0, m.indexOf(':') + 1)}${pick(['1E2', '1e+2', '-0', '2.50e1', '1e400', '0.000001e7', '7'])}`);
      if (rnd() < 0.15) doc = doc.replace(/"usage":(\s*)\{(\s*)(\}?)/g, (_m, a: string, b: string, c: string) => `"usage":${a}{"total_tokens":12345,"prompt_tokens":-3${c ? '' : ','}${b}${c}`);
      if (rnd() < 0.1) doc = `${pick([' ', '\n', '\r\n'])}${doc}${pick([' ', '\n\n', '\t'])}`;
      const want = full(doc);
      const bytes = Buffer.from(doc);
      const tail = usageFromJsonTail(bytes);
      if (tail !== undefined) {
        viaTail++;
        expect(tail, doc).toEqual(want);
      }
      expect(usageFromJsonBody(bytes), doc).toEqual(want);
    }
    // The tail path is what most of these exercise, not the fallback.
    expect(viaTail).toBeGreaterThan(N / 8);
  });
});
