// The `pii` guard end to end: a real gateway over TLS in front of a small OpenAI-shaped upstream
// that streams the last user message split on '|' (one SSE event per piece). A secret split across
// two SSE chunks reaches the client redacted without collapsing the stream; a card number in a
// request reaches the upstream redacted; a block answers 403 in the OpenAI error shape.
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { createDevPki, type DevPki } from '../../src/tls/pki.js';
import { tempDir, testDeps, writeFiles, type TestDeps } from './helpers.js';

const KEY = `ghp_${'aB3dE5'.repeat(6)}`;

interface Upstream {
  url: string;
  seen: any[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const seen: any[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      seen.push(body);
      const last = String(body.messages?.[body.messages.length - 1]?.content ?? '');
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const p of last.split('|')) {
          res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`);
          await new Promise((r) => setTimeout(r, 5));
        }
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${last}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let pki: DevPki;
let tmp: ReturnType<typeof tempDir>;
let files: Record<string, string>;
let upstream: Upstream;
let agent: Agent;

async function gateway(guards: unknown[]): Promise<{ gw: RunningGateway; deps: TestDeps }> {
  const cfg = parseConfig(
    {
      server: { listen: '127.0.0.1:0', tls: { cert: files['server.pem']!, key: files['server-key.pem']! } },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['unused.cedar'] },
      observability: { logLevel: 'silent' },
      models: [{ name: 'chat', protocol: 'openai', upstream: { url: upstream.url, model: 'upstream-chat' } }],
      guards,
    },
    process.cwd(),
    'test',
  );
  const deps = testDeps();
  const gw = await createGateway(cfg, deps, { logger: silentLogger(), processMetrics: false });
  return { gw, deps };
}

async function post(gw: RunningGateway, body: unknown) {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.body.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE */
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

function sseData(text: string): string[] {
  return text
    .split(/\n\n/)
    .filter((e) => e.trim())
    .map((e) => e.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'));
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'chat', messages: [{ role: 'user', content }], ...extra });

beforeAll(async () => {
  pki = await createDevPki();
  tmp = tempDir('rampart-pii-');
  files = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
  upstream = await startUpstream();
  agent = new Agent({ connect: { ca: pki.ca.certPem, servername: 'localhost' } });
});

afterAll(async () => {
  await agent?.close();
  await upstream?.close();
  tmp?.cleanup();
});

describe('pii guard with defaults', () => {
  let gw: RunningGateway;
  let deps: TestDeps;
  beforeAll(async () => {
    ({ gw, deps } = await gateway([{ type: 'pii' }]));
  });
  afterAll(() => gw.close());

  it('redacts a secret split across two SSE chunks; the stream keeps its events', async () => {
    const r = await post(gw, chat(`Here is the token ${KEY.slice(0, 12)}|${KEY.slice(12)} for you.| Anything else?`, { stream: true }));
    expect(r.status).toBe(200);
    const data = sseData(r.text);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    // Three pieces and the finish chunk from the upstream, nothing collapsed into one event.
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    const contents = chunks.map((c) => String(c.choices[0].delta.content ?? ''));
    expect(contents.filter((c) => c !== '').length).toBeGreaterThan(1);
    expect(contents.join('')).toBe('Here is the token [REDACTED:github-token] for you. Anything else?');
    expect(r.text).not.toContain('ghp_');
    for (const c of contents) expect(c).not.toContain(KEY.slice(12, 20));
    const until = Date.now() + 3000;
    let rec = deps.audit.records.find((a) => a.id === r.headers['x-request-id']);
    while (!rec && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 10));
      rec = deps.audit.records.find((a) => a.id === r.headers['x-request-id']);
    }
    const run = rec?.guards?.find((g) => g.phase === 'stream' && g.name === 'pii');
    expect(run?.action).toBe('redact');
    expect(JSON.stringify(rec)).not.toContain(KEY);
  });

  it('a card number in the request reaches the upstream redacted', async () => {
    const r = await post(gw, chat('Charge 4111 1111 1111 1111 please, mail me at ann@corp.io'));
    expect(r.status).toBe(200);
    const sent = upstream.seen.at(-1);
    expect(sent.messages[0].content).toBe('Charge [REDACTED:card] please, mail me at ann@corp.io');
    expect(String(r.headers['x-rampart-guards'])).toMatch(/pii;action=redact/);
  });
});

describe('pii guard that blocks', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    ({ gw } = await gateway([{ type: 'pii', options: { types: { 'github-token': { request: 'block' } } } }]));
  });
  afterAll(() => gw.close());

  it('answers 403 in the OpenAI error shape and never calls the upstream', async () => {
    const before = upstream.seen.length;
    const r = await post(gw, chat(`please use ${KEY}`));
    expect(r.status).toBe(403);
    expect(r.json?.error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    expect(r.text).not.toContain(KEY);
    expect(upstream.seen.length).toBe(before);
  });
});
