// The guard pipeline end to end: a real gateway over TLS, real upstream HTTP servers, and small
// test-only guard kinds registered through `deps.guardFactories`. Covers order, block/throttle/
// redact/flag in both phases, shadow mode, fail-closed and fail-open on errors and timeouts, the
// records (audit, events, metrics, header), SSE redaction across chunks without collapsing events,
// a block mid-stream, a client gone mid-stream, and a bad guard config refusing start-up.
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import type { guardConfigSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { createGateway, startGateway, type RunningGateway } from '../../src/gateway/index.js';
import type { GuardFactory, GuardVerdict, StreamStep, StreamTextFilter } from '../../src/guards/types.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { createDevPki, type DevPki } from '../../src/tls/pki.js';
import { tempDir, testDeps, writeFiles, type TestDeps } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Test guard kinds

type GuardConfigInput = z.input<typeof guardConfigSchema>;

const order: string[] = [];

const wordsOptions = z
  .object({
    block: z.array(z.string()).default([]),
    throttle: z.array(z.string()).default([]),
    redact: z.array(z.string()).default([]),
    flag: z.array(z.string()).default([]),
    /** Query the model again with this body and flag when its status is not 200. */
    callModel: z.boolean().default(false),
    /** Check responses too (checkResponse and openStream). */
    response: z.boolean().default(true),
  })
  .strict();
type WordsOptions = z.infer<typeof wordsOptions>;

function judge(o: WordsOptions, texts: { text: string; set(v: string): void; pointer: string }[]): GuardVerdict {
  const all = texts.map((t) => t.text).join('\n');
  if (o.block.some((w) => all.includes(w))) return { action: 'block', score: 1, reasons: [{ code: 'test.block', message: 'a blocked word' }] };
  if (o.throttle.some((w) => all.includes(w))) return { action: 'block', status: 429, retryAfterSeconds: 7, reasons: [{ code: 'test.throttle', message: 'too fast' }] };
  const hits = texts.filter((t) => o.redact.some((w) => t.text.includes(w)));
  if (hits.length) {
    return {
      action: 'redact',
      score: 0.5,
      reasons: hits.map((h) => ({ code: 'test.redact', message: 'a secret word', where: h.pointer })),
      apply: () => {
        for (const h of hits) h.set(o.redact.reduce((s, w) => s.split(w).join('[REDACTED]'), h.text));
      },
    };
  }
  if (o.flag.some((w) => all.includes(w))) return { action: 'flag', score: 0.3, reasons: [{ code: 'test.flag', message: 'suspicious' }] };
  return { action: 'allow', reasons: [] };
}

/** Holds back at most (longest word - 1) characters per channel; redacts or blocks across chunks. */
function wordFilter(o: WordsOptions): StreamTextFilter {
  const words = [...o.redact, ...o.block];
  const maxHoldBack = Math.max(1, ...words.map((w) => w.length)) - 1;
  const buf = new Map<string, string>();
  const scan = (ch: string, final: boolean): StreamStep => {
    let t = buf.get(ch) ?? '';
    if (o.block.some((w) => t.includes(w))) return { release: '', verdict: { action: 'block', reasons: [{ code: 'test.block', message: 'a blocked word', where: ch }] } };
    let verdict: GuardVerdict | undefined;
    if (o.redact.some((w) => t.includes(w))) {
      t = o.redact.reduce((s, w) => s.split(w).join('[REDACTED]'), t);
      verdict = { action: 'redact', reasons: [{ code: 'test.redact', message: 'a secret word', where: ch }] };
    }
    const keep = final ? 0 : Math.min(maxHoldBack, t.length);
    buf.set(ch, t.slice(t.length - keep));
    return { release: t.slice(0, t.length - keep), ...(verdict ? { verdict } : {}) };
  };
  return {
    maxHoldBack,
    push: (ch, text) => {
      buf.set(ch, (buf.get(ch) ?? '') + text);
      return scan(ch, false);
    },
    end: (ch) => scan(ch, true),
  };
}

const wordsFactory: GuardFactory<WordsOptions> = {
  kind: 'test-words',
  description: 'test guard: blocks, throttles, redacts or flags listed words',
  options: wordsOptions,
  create: (name, o) => ({
    name,
    kind: 'test-words',
    supports: () => true,
    async checkRequest(input) {
      order.push(`${name}:request`);
      if (o.callModel) {
        const r = await input.callModel({ ...input.body, squeezed: true });
        if (r.status !== 200) return { action: 'flag', reasons: [{ code: 'test.call-model', message: `status ${r.status}` }] };
        return { action: 'flag', score: Number((r.body as any)?.outputs?.[0]?.data?.[0] ?? -1), reasons: [{ code: 'test.call-model', message: 'called' }] };
      }
      const texts = input.protocol === 'openai' ? input.texts() : [{ text: JSON.stringify(input.body), pointer: '', set: () => undefined }];
      return judge(o, texts);
    },
    ...(o.response
      ? {
          checkResponse(input: { texts(): { text: string; set(v: string): void; pointer: string }[] }) {
            order.push(`${name}:response`);
            return judge(o, input.texts());
          },
          openStream: () => wordFilter(o),
        }
      : {}),
  }),
};

const brokenOptions = z.object({ how: z.enum(['throw', 'hang', 'bad-verdict']).default('throw') }).strict();
const brokenFactory: GuardFactory<z.infer<typeof brokenOptions>> = {
  kind: 'test-broken',
  description: 'test guard that fails',
  options: brokenOptions,
  create: (name, o) => ({
    name,
    kind: 'test-broken',
    supports: (route) => route.startsWith('openai.'),
    checkRequest(input) {
      order.push(`${name}:request`);
      if (o.how === 'throw') throw new Error('secret-in-error-message 4111111111111111');
      if (o.how === 'bad-verdict') return { action: 'maybe' } as unknown as GuardVerdict;
      return new Promise<GuardVerdict>((resolve) => input.signal.addEventListener('abort', () => resolve({ action: 'allow', reasons: [] })));
    },
  }),
};

const factories = [wordsFactory, brokenFactory];

// ---------------------------------------------------------------------------------------------
// Upstream: echoes the last user message; streams it split on '|' into one SSE event per piece.

interface Seen {
  url: string;
  body: any;
}

async function startEchoUpstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void>; aborted: () => number }> {
  const seen: Seen[] = [];
  let aborted = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? JSON.parse(text) : {};
      seen.push({ url: req.url ?? '', body });
      void answer(req, res, body);
    });
  });
  async function answer(req: IncomingMessage, res: ServerResponse, body: any): Promise<void> {
    const url = req.url ?? '';
    const last = Array.isArray(body.messages) ? String(body.messages[body.messages.length - 1]?.content ?? '') : String(body.input ?? '');
    if (url.startsWith('/v2/models/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model_name: 'digits-v1', outputs: [{ name: 'label', shape: [1], datatype: 'INT64', data: [body.squeezed ? 5 : 3] }] }));
      return;
    }
    if (body.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', () => {
        if (!res.writableFinished) aborted++;
      });
      const pieces = last.split('|');
      const pause = last.includes('slow') ? 150 : 5;
      if (url === '/v1/responses') {
        let seq = 0;
        const send = (type: string, extra: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...extra })}\n\n`);
        send('response.created', { response: { id: 'r1', output: [] } });
        for (const p of pieces) {
          send('response.output_text.delta', { item_id: 'm1', output_index: 0, content_index: 0, delta: p });
          await new Promise((r) => setTimeout(r, pause));
        }
        const full = pieces.join('');
        send('response.output_text.done', { item_id: 'm1', output_index: 0, content_index: 0, text: full });
        send('response.completed', { response: { id: 'r1', output: [{ type: 'message', id: 'm1', role: 'assistant', content: [{ type: 'output_text', text: full }] }] } });
        res.end();
        return;
      }
      for (const p of pieces) {
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`);
        await new Promise((r) => setTimeout(r, pause));
      }
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${last.toUpperCase()}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    aborted: () => aborted,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------

let pki: DevPki;
let tmp: ReturnType<typeof tempDir>;
let files: Record<string, string>;
let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
let agent: Agent;

function config(guards: GuardConfigInput[], extra: Record<string, unknown> = {}) {
  return parseConfig(
    {
      server: { listen: '127.0.0.1:0', tls: { cert: files['server.pem']!, key: files['server-key.pem']! } },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['unused.cedar'] },
      observability: { logLevel: 'silent' },
      models: [
        { name: 'chat', protocol: 'openai', upstream: { url: upstream.url, model: 'upstream-chat' } },
        { name: 'other', protocol: 'openai', upstream: { url: upstream.url } },
        { name: 'digits', protocol: 'kserve-v2', upstream: { url: upstream.url, model: 'digits-v1' } },
      ],
      guards,
      ...extra,
    },
    process.cwd(),
    'test',
  );
}

async function gateway(guards: GuardConfigInput[]): Promise<{ gw: RunningGateway; deps: TestDeps }> {
  const deps = testDeps();
  const gw = await createGateway(config(guards), { ...deps, guardFactories: factories }, { logger: silentLogger(), processMetrics: false });
  return { gw, deps };
}

async function post(gw: RunningGateway, path: string, body: unknown) {
  const r = await request(`${gw.url}${path}`, { method: 'POST', dispatcher: agent, headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.body.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE */
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

async function auditOf(deps: TestDeps, id: unknown) {
  const until = Date.now() + 3000;
  for (;;) {
    const rec = deps.audit.records.find((a) => a.id === id);
    if (rec) return rec;
    if (Date.now() > until) throw new Error(`no audit record for ${String(id)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The data payloads of an SSE body, in order. */
function sseData(text: string): string[] {
  return text
    .split(/\n\n/)
    .filter((e) => e.trim())
    .map((e) => e.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'));
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'chat', messages: [{ role: 'user', content }], ...extra });

beforeAll(async () => {
  pki = await createDevPki();
  tmp = tempDir('rampart-guards-');
  files = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
  upstream = await startEchoUpstream();
  agent = new Agent({ connect: { ca: pki.ca.certPem, servername: 'localhost' } });
});

afterAll(async () => {
  await agent?.close();
  await upstream?.close();
  tmp?.cleanup();
});

describe('request phase', () => {
  let gw: RunningGateway;
  let deps: TestDeps;
  beforeAll(async () => {
    ({ gw, deps } = await gateway([
      { type: 'test-words', name: 'first', models: ['chat', 'digits'], options: { block: ['forbidden'], throttle: ['hurry'], redact: ['s3cret'], flag: ['odd'], response: false } },
      { type: 'test-words', name: 'second', routes: ['openai.*'], options: { block: ['second-only'], response: false } },
      { type: 'test-words', name: 'watcher', mode: 'shadow', options: { block: ['watched'], response: false } },
    ]));
  });
  afterAll(() => gw.close());

  it('runs the guards in config order and lists them in the header', async () => {
    order.length = 0;
    const r = await post(gw, '/v1/chat/completions', chat('hello'));
    expect(r.status).toBe(200);
    expect(order).toEqual(['first:request', 'second:request', 'watcher:request']);
    expect(String(r.headers['x-rampart-guards'])).toMatch(/^first;action=allow;dur=[\d.]+, second;action=allow;dur=[\d.]+, watcher;action=allow;shadow;dur=[\d.]+$/);
    expect(String(r.headers['server-timing'])).toMatch(/^guard-first;dur=[\d.]+, guard-second;dur=[\d.]+, guard-watcher;dur=[\d.]+$/);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec.guards?.map((g) => [g.name, g.phase, g.action, g.shadow])).toEqual([
      ['first', 'request', 'allow', false],
      ['second', 'request', 'allow', false],
      ['watcher', 'request', 'allow', true],
    ]);
  });

  it('selects guards by model and route glob', async () => {
    order.length = 0;
    const r = await post(gw, '/v1/chat/completions', { ...chat('hello'), model: 'other' });
    expect(r.status).toBe(200);
    expect(order).toEqual(['second:request', 'watcher:request']);
  });

  it('blocks with 403 in the OpenAI error shape, without the matched text, and stops the chain', async () => {
    order.length = 0;
    const before = upstream.seen.length;
    const r = await post(gw, '/v1/chat/completions', chat('this is forbidden text'));
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ code: 'RAMPART_ERR_GUARD_BLOCKED', type: 'permission_error' });
    expect(r.json.error.message).toContain('first');
    expect(r.json.error.message).toContain('test.block');
    expect(r.text).not.toContain('forbidden text');
    expect(order).toEqual(['first:request']);
    expect(upstream.seen.length).toBe(before);
    expect(String(r.headers['x-rampart-guards'])).toMatch(/^first;action=block;dur=/);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec).toMatchObject({ status: 403, decision: 'deny', errorCode: 'RAMPART_ERR_GUARD_BLOCKED' });
    expect(rec.guards).toEqual([{ name: 'first', kind: 'test-words', phase: 'request', action: 'block', shadow: false, score: 1, reasons: ['test.block'], ms: expect.any(Number) }]);
  });

  it('blocks a KServe v2 infer call in the v2 error shape', async () => {
    const r = await post(gw, '/v2/models/digits/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], parameters: { note: 'forbidden' } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ error: expect.stringContaining('refused by guard "first"'), code: 'RAMPART_ERR_GUARD_BLOCKED' });
  });

  it('throttles with 429 and the Retry-After of the verdict', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('hurry up'));
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('7');
    expect(r.json.error).toMatchObject({ code: 'RAMPART_ERR_GUARD_THROTTLED', type: 'rate_limit_error' });
  });

  it('redacts the body sent upstream, re-serialised once, with the upstream model name', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('my s3cret is here'));
    expect(r.status).toBe(200);
    const sent = upstream.seen[upstream.seen.length - 1]!.body;
    expect(sent.messages[0].content).toBe('my [REDACTED] is here');
    expect(sent.model).toBe('upstream-chat');
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec.guards?.[0]).toMatchObject({ action: 'redact', reasons: ['test.redact'], score: 0.5 });
  });

  it('lets a flagged request through and a shadow guard never blocks, but records', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('odd but watched'));
    expect(r.status).toBe(200);
    expect(String(r.headers['x-rampart-guards'])).toMatch(/first;action=flag;dur=[\d.]+, second;action=allow;dur=[\d.]+, watcher;action=block;shadow;dur=/);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec).toMatchObject({ status: 200, errorCode: null });
    expect(rec.guards?.map((g) => [g.name, g.action])).toEqual([
      ['first', 'flag'],
      ['second', 'allow'],
      ['watcher', 'block'],
    ]);
  });

  it('counts verdicts and durations in Prometheus metrics', async () => {
    const text = await gw.metrics.registry.metrics();
    expect(text).toMatch(/rampart_guard_verdicts_total\{guard="first",kind="test-words",phase="request",action="block",shadow="false"\} [1-9]/);
    expect(text).toMatch(/rampart_guard_verdicts_total\{guard="watcher",kind="test-words",phase="request",action="block",shadow="true"\} 1/);
    expect(text).toMatch(/rampart_guard_duration_seconds_count\{guard="first",phase="request"\} [1-9]/);
  });
});

describe('failures', () => {
  it('fails closed on a throw (503, no error text leaked), fails open when configured, and times out', async () => {
    const { gw, deps } = await gateway([
      { type: 'test-broken', name: 'thrower', models: ['chat'], options: { how: 'throw' } },
      { type: 'test-broken', name: 'lenient', models: ['other'], onError: 'allow', options: { how: 'throw' } },
      { type: 'test-broken', name: 'sleeper', models: ['other'], timeout: '50ms', options: { how: 'hang' } },
    ]);
    try {
      const closed = await post(gw, '/v1/chat/completions', chat('hi'));
      expect(closed.status).toBe(503);
      expect(closed.json.error.code).toBe('RAMPART_ERR_GUARD_FAILED');
      expect(closed.text).not.toContain('4111111111111111');
      const rec = await auditOf(deps, closed.headers['x-request-id']);
      expect(rec.guards).toEqual([{ name: 'thrower', kind: 'test-broken', phase: 'request', action: 'error', shadow: false, score: null, reasons: ['guard.error'], ms: expect.any(Number) }]);
      const timedOut = await post(gw, '/v1/chat/completions', { ...chat('hi'), model: 'other' });
      expect(timedOut.status).toBe(503);
      expect(String(timedOut.headers['x-rampart-guards'])).toMatch(/^lenient;action=error;dur=[\d.]+, sleeper;action=error;dur=/);
      const metrics = await gw.metrics.registry.metrics();
      expect(metrics).toMatch(/rampart_guard_errors_total\{guard="lenient"\} 1/);
      expect(metrics).toMatch(/rampart_guard_errors_total\{guard="sleeper"\} 1/);
    } finally {
      await gw.close();
    }
  });

  it('treats a malformed verdict as an error', async () => {
    const { gw } = await gateway([{ type: 'test-broken', options: { how: 'bad-verdict' } }]);
    try {
      expect((await post(gw, '/v1/chat/completions', chat('hi'))).status).toBe(503);
    } finally {
      await gw.close();
    }
  });

  it('refuses to start on a bad guard config, naming the option path', async () => {
    const deps = testDeps();
    const start = (g: GuardConfigInput[]) => createGateway(config(g), { ...deps, guardFactories: factories }, { logger: silentLogger(), processMetrics: false });
    await expect(start([{ type: 'test-words' }, { type: 'test-words', name: 'b', options: { block: [1] } }])).rejects.toMatchObject({
      code: 'RAMPART_ERR_GUARD_CONFIG_INVALID',
      message: expect.stringContaining('guards[1].options.block[0]'),
    });
    await expect(start([{ type: 'test-words', options: { nope: true } }])).rejects.toMatchObject({ code: 'RAMPART_ERR_GUARD_CONFIG_INVALID', message: expect.stringContaining('guards[0].options') });
    await expect(start([{ type: 'no-such-kind' }])).rejects.toMatchObject({ code: 'RAMPART_ERR_GUARD_CONFIG_INVALID', message: expect.stringContaining('guards[0].type') });
    expect(() => config([{ type: 'test-words' }, { type: 'test-words' }])).toThrow(/duplicate guard name/);
  });
});

describe('response phase and callModel', () => {
  let gw: RunningGateway;
  let deps: TestDeps;
  beforeAll(async () => {
    ({ gw, deps } = await gateway([
      // The upstream answers in upper case: these words can only appear in responses.
      { type: 'test-words', name: 'out', routes: ['openai.chat.completions'], options: { redact: ['PIN-1234'], block: ['LAUNCH-CODES'] } },
      { type: 'test-words', name: 'squeeze', routes: ['kserve.infer'], options: { callModel: true } },
    ]));
  });
  afterAll(() => gw.close());

  it('redacts a JSON response before the client sees it, with a correct Content-Length and usage', async () => {
    order.length = 0;
    const r = await post(gw, '/v1/chat/completions', chat('my pin-1234 please'));
    expect(r.status).toBe(200);
    expect(order).toEqual(['out:request', 'out:response']);
    expect(r.json.choices[0].message.content).toBe('echo: MY [REDACTED] PLEASE');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(String(r.headers['x-rampart-guards'])).toMatch(/^out;action=allow;dur=[\d.]+, out;action=redact;phase=response;dur=[\d.]+$/);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec.usage).toEqual({ promptTokens: 3, completionTokens: 2, totalTokens: 5 });
    expect(rec.bytesOut).toBe(Buffer.byteLength(r.text));
    expect(rec.guards?.map((g) => [g.phase, g.action])).toEqual([
      ['request', 'allow'],
      ['response', 'redact'],
    ]);
  });

  it('blocks a response in the OpenAI shape', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('the launch-codes'));
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('RAMPART_ERR_GUARD_BLOCKED');
    expect(r.text).not.toContain('LAUNCH');
  });

  it('lets a guard query the model again through callModel', async () => {
    const before = upstream.seen.length;
    const r = await post(gw, '/v2/models/digits/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([3]);
    const calls = upstream.seen.slice(before);
    expect(calls.map((c) => [c.url, c.body.squeezed ?? false])).toEqual([
      ['/v2/models/digits-v1/infer', true],
      ['/v2/models/digits-v1/infer', false],
    ]);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec.guards?.[0]).toMatchObject({ name: 'squeeze', action: 'flag', score: 5 });
  });
});

describe('streamed responses', () => {
  let gw: RunningGateway;
  let deps: TestDeps;
  beforeAll(async () => {
    ({ gw, deps } = await gateway([
      { type: 'test-words', name: 'pii', routes: ['openai.chat.completions', 'openai.responses'], options: { redact: ['sk-SECRET99'], block: ['BOOM'] } },
      { type: 'test-words', name: 'shadow-pii', mode: 'shadow', routes: ['openai.chat.completions'], options: { redact: ['harmless'] } },
    ]));
  });
  afterAll(() => gw.close());

  it('redacts a secret split across two SSE chunks, one event out per event in, held text released at finish', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('key: sk-SEC|RET99 ok|harmless', { stream: true }));
    expect(r.status).toBe(200);
    expect(String(r.headers['x-rampart-guards'])).toMatch(/^pii;action=allow;dur=[\d.]+, shadow-pii;action=redact;shadow;dur=[\d.]+, pii;phase=stream, shadow-pii;phase=stream$/);
    const data = sseData(r.text);
    // Three content chunks, the finish chunk, [DONE]: same count as the upstream sent.
    expect(data.length).toBe(5);
    expect(data[4]).toBe('[DONE]');
    const chunks = data.slice(0, 4).map((d) => JSON.parse(d));
    const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(text).toBe('key: [REDACTED] okharmless');
    expect(r.text).not.toContain('sk-SEC');
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    // No chunk ever carried a part of the secret.
    for (const c of chunks) expect(String(c.choices[0].delta.content ?? '')).not.toMatch(/RET99|sk-S/);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec.guards?.filter((g) => g.phase === 'stream').map((g) => [g.name, g.action, g.shadow, g.reasons])).toEqual([
      ['pii', 'redact', false, ['test.redact']],
      ['shadow-pii', 'redact', true, ['test.redact']],
    ]);
  });

  it('redacts the Responses API stream and its full-text events', async () => {
    const r = await post(gw, '/v1/responses', { model: 'chat', input: 'a sk-SECR|ET99 b', stream: true });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('sk-SECR');
    const events = sseData(r.text).map((d) => JSON.parse(d));
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta);
    expect(deltas.join('')).toBe('a [REDACTED] b');
    expect(events.find((e) => e.type === 'response.output_text.done').text).toBe('a [REDACTED] b');
    expect(events.find((e) => e.type === 'response.completed').response.output[0].content[0].text).toBe('a [REDACTED] b');
  });

  it('ends the stream with an OpenAI error event when a filter blocks mid-stream', async () => {
    const r = await post(gw, '/v1/chat/completions', chat('fine so far|then B|OOM|never sent', { stream: true }));
    expect(r.status).toBe(200);
    const data = sseData(r.text);
    const last = JSON.parse(data[data.length - 1]!);
    expect(last.error).toMatchObject({ code: 'RAMPART_ERR_GUARD_BLOCKED', type: 'permission_error' });
    expect(r.text).not.toContain('never sent');
    expect(r.text).not.toContain('[DONE]');
    // What was released before the block (the filter's held-back tail is dropped with the block).
    const sent = data.slice(0, -1).map((d) => JSON.parse(d).choices[0].delta.content).join('');
    expect(sent.length).toBeGreaterThan(0);
    expect('fine so farthen B'.startsWith(sent)).toBe(true);
    const rec = await auditOf(deps, r.headers['x-request-id']);
    expect(rec).toMatchObject({ status: 200, decision: 'deny', errorCode: 'RAMPART_ERR_GUARD_BLOCKED' });
    expect(rec.guards?.find((g) => g.phase === 'stream' && g.name === 'pii')?.action).toBe('block');
  });

  it('ends the Responses API stream with an error event', async () => {
    const r = await post(gw, '/v1/responses', { model: 'chat', input: 'x|B|OOM', stream: true });
    const events = r.text.split('\n\n').filter((e) => e.trim());
    expect(events[events.length - 1]).toMatch(/^event: error\ndata: \{"type":"error","code":"RAMPART_ERR_GUARD_BLOCKED"/);
  });

  it('records a client that goes away mid-stream and goes on serving', { timeout: 10_000 }, async () => {
    const abortedBefore = upstream.aborted();
    const u = new URL(gw.url);
    const body = JSON.stringify(chat('slow|slow|slow|slow|slow|slow', { stream: true }));
    const id = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: u.hostname, port: Number(u.port), servername: 'localhost', ca: pki.ca.certPem }, () => {
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer key-alice\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if ((got.match(/data: /g) ?? []).length >= 2) {
          s.destroy();
          resolve(/x-request-id: (\S+)/i.exec(got)![1]!);
        }
      });
      s.on('error', reject);
    });
    const rec = await auditOf(deps, id);
    expect(rec).toMatchObject({ status: 499, errorCode: 'RAMPART_ERR_GATEWAY_CLIENT_CLOSED' });
    expect(rec.guards?.some((g) => g.phase === 'stream' && g.name === 'pii')).toBe(true);
    const until = Date.now() + 3000;
    while (upstream.aborted() === abortedBefore && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.aborted()).toBeGreaterThan(abortedBefore);
    expect((await post(gw, '/v1/chat/completions', chat('still here'))).status).toBe(200);
  });
});

describe('wired with the real layers', () => {
  it('publishes guard.verdict events on the monitoring bus and keeps the audit chain verifiable', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const deps = testDeps();
    const cfg = config([{ type: 'test-words', name: 'w', options: { flag: ['odd'], block: ['forbidden'], response: false } }], {
      monitoring: { enabled: true },
    });
    const gw = await startGateway(cfg, {
      logger: silentLogger(),
      store,
      processMetrics: false,
      deps: { authenticator: deps.authenticator, authorizer: deps.authorizer, quotas: deps.quotas, guardFactories: factories },
    });
    try {
      const flagged = await post(gw, '/v1/chat/completions', chat('odd'));
      const blocked = await post(gw, '/v1/chat/completions', chat('forbidden'));
      const allowed = await post(gw, '/v1/chat/completions', chat('fine'));
      expect([flagged.status, blocked.status, allowed.status]).toEqual([200, 403, 200]);
      let events: any[] = [];
      const until = Date.now() + 5000;
      while (events.length < 2 && Date.now() < until) {
        events = (await store.events!.readEvents({ type: 'guard.verdict', limit: 10 })).map((e) => JSON.parse(e.body));
        if (events.length < 2) await new Promise((r) => setTimeout(r, 50));
      }
      expect(events.map((e) => [e.data.requestId, e.data.action, e.severity, e.principal, e.model])).toEqual([
        [flagged.headers['x-request-id'], 'flag', 'low', 'alice', 'chat'],
        [blocked.headers['x-request-id'], 'block', 'high', 'alice', 'chat'],
      ]);
      expect(events[1].data).toMatchObject({ guard: 'w', kind: 'test-words', phase: 'request', shadow: false, score: 1, reasons: [{ code: 'test.block', message: 'a blocked word' }] });
      // A guard block is not also an authz.deny.
      expect(await store.events!.readEvents({ type: 'authz.deny', limit: 10 })).toEqual([]);
    } finally {
      await gw.close();
    }
    const entries = await store.audit.readAudit(1, 100);
    const bodies = entries.map((e) => JSON.parse(e.body));
    expect(bodies.map((b) => b.guards?.[0]?.action)).toEqual(['flag', 'block', 'allow']);
    const report = await verifyAudit(store.audit);
    expect(report.ok).toBe(true);
    await store.close();
  });
});
