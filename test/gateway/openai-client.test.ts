// The official `openai` npm client calling models through the gateway over TLS, exactly as it
// would call an OpenAI-compatible server: chat, streamed chat, embeddings, model listing, and the
// SDK's own error class carrying the gateway's code.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch as undiciFetch } from 'undici';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki } from '../../src/tls/pki.js';
import { makeConfig, startUpstream, tempDir, testDeps, writeFiles, type TestDeps, type TestUpstream } from './helpers.js';

let upstream: TestUpstream;
let gw: RunningGateway;
let deps: TestDeps;
let dispatcher: Agent;
let tmp: ReturnType<typeof tempDir>;

function client(apiKey: string): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: `${gw.url}/v1`,
    maxRetries: 0,
    // The gateway's certificate comes from a private CA: trust exactly that CA.
    fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher } as never)) as never,
  });
}

beforeAll(async () => {
  upstream = await startUpstream();
  const pki = await createDevPki();
  tmp = tempDir();
  const f = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
  dispatcher = new Agent({ connect: { ca: pki.ca.certPem } });
  deps = testDeps({ rules: ['analyst:*:*'] });
  gw = await createGateway(makeConfig(upstream.url, { server: { listen: '127.0.0.1:0', tls: { cert: f['server.pem']!, key: f['server-key.pem']! } } }), deps, {
    logger: silentLogger(),
    processMetrics: false,
  });
});

afterAll(async () => {
  await gw?.close();
  await dispatcher?.close();
  await upstream?.close();
  tmp?.cleanup();
});

describe('official openai client through the gateway', () => {
  it('chat completion', async () => {
    const r = await client('key-alice').chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toBe('Hello!');
    expect(r.usage?.total_tokens).toBe(18);
  });

  it('streamed chat completion', async () => {
    const stream = await client('key-alice').chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello!');
    expect(chunks).toBe(3);
    const rec = (await deps.audit.waitFor(2)).at(-1)!;
    expect(rec.usage?.completionTokens).toBe(7);
  });

  it('streamed chat completion with usage requested by the client', async () => {
    const stream = await client('key-alice').chat.completions.create({
      model: 'chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    let usage: number | undefined;
    for await (const c of stream) usage = c.usage?.total_tokens ?? usage;
    expect(usage).toBe(18);
  });

  it('embeddings and model listing', async () => {
    const e = await client('key-alice').embeddings.create({ model: 'embed', input: 'hello' });
    expect(e.data[0]!.embedding).toEqual([0.5, 0.25, 0.125]);
    const models = [];
    for await (const m of client('key-alice').models.list()) models.push(m.id);
    expect(models).toContain('chat');
  });

  it('refusals surface as the SDK error class with the Rampart code', async () => {
    const err = await client('key-wrong')
      .chat.completions.create({ model: 'chat', messages: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('RAMPART_ERR_AUTH_INVALID');
    const nf = await client('key-alice')
      .chat.completions.create({ model: 'missing', messages: [] })
      .catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
