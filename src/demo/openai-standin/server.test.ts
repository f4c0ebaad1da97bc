import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../http.js';
import { countTokens } from './reply.js';
import { startOpenAiStandin } from './server.js';

let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAiStandin({ models: ['demo-chat'], chunkDelayMs: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => server.close());

describe('OpenAI-compatible stand-in', () => {
  it('answers chat completions deterministically with usage', async () => {
    const a = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'What is 2 + 2?' }] });
    const b = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'What is 2 + 2?' }] });
    expect(a.choices[0]!.message.content).toContain('What is 2 + 2?');
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.choices[0]!.finish_reason).toBe('stop');
    expect(a.usage!.completion_tokens).toBe(countTokens(a.choices[0]!.message.content!));
    expect(a.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(a.usage!.total_tokens).toBe(a.usage!.prompt_tokens + a.usage!.completion_tokens);
  });

  it('honours max_tokens with finish_reason length', async () => {
    const r = await client.chat.completions.create({ model: 'demo-chat', max_tokens: 5, messages: [{ role: 'user', content: 'hello there' }] });
    expect(r.usage!.completion_tokens).toBe(5);
    expect(r.choices[0]!.finish_reason).toBe('length');
  });

  it('streams several chunks and a final usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'demo-chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Stream please' }],
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text).toContain('Stream please');
    expect(usage!.completion_tokens).toBe(countTokens(text));
  });

  it('serves completions, embeddings (float and base64), responses and models', async () => {
    const c = await client.completions.create({ model: 'demo-chat', prompt: 'Say hi', max_tokens: 200 });
    expect(c.choices[0]!.text).toContain('Say hi');
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);

    const e1 = await client.embeddings.create({ model: 'demo-chat', input: ['alpha', 'beta'], dimensions: 32 });
    const e2 = await client.embeddings.create({ model: 'demo-chat', input: 'alpha', dimensions: 32, encoding_format: 'float' });
    expect(e1.data).toHaveLength(2);
    expect(e1.data[0]!.embedding).toHaveLength(32);
    expect(e1.data[0]!.embedding).toEqual(e2.data[0]!.embedding);
    expect(e1.data[0]!.embedding).not.toEqual(e1.data[1]!.embedding);
    const norm = Math.hypot(...e1.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 4);

    const r = await client.responses.create({ model: 'demo-chat', input: 'Tell me a fact' });
    expect(r.output_text).toContain('Tell me a fact');
    expect(r.usage!.output_tokens).toBe(countTokens(r.output_text));

    const events: string[] = [];
    let deltas = '';
    const rs = await client.responses.create({ model: 'demo-chat', input: 'stream it', stream: true });
    for await (const ev of rs) {
      events.push(ev.type);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    expect(events[0]).toBe('response.created');
    expect(events.at(-1)).toBe('response.completed');
    expect(deltas).toContain('stream it');

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['demo-chat']);
  });

  it('refuses bad requests in the OpenAI error shape', async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'demo-chat', messages: [] })).rejects.toMatchObject({ status: 400, param: 'messages' });
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{"model":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string } };
    expect(body.error.type).toBe('invalid_request_error');
  });

  it('survives mutated request bodies', async () => {
    const base = JSON.stringify({ model: 'demo-chat', stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 10 });
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 60; i++) {
      const chars = [...base];
      for (let k = 0; k < 3; k++) chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 90));
      const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: chars.join('') });
      expect([200, 400, 404]).toContain(res.status);
      await res.arrayBuffer();
    }
    const ok = await fetch(`${server.url}/health`);
    expect(ok.status).toBe(200);
  });
});
