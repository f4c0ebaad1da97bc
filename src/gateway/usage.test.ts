import { describe, expect, it } from 'vitest';
import { SseScanner, normalizeUsage, usageFromEvent, usageFromJson } from './usage.js';

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
