// Regression tests from the security review of the guard pipeline in the gateway: a response guard
// is never skipped because the upstream answered in a shape the guard cannot read (a stream for a
// guard without a stream filter, a whole body for a guard with only one). Real gateway over plain
// HTTP on 127.0.0.1, the shared test upstream (SSE when the request says `stream: true`).
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { z } from 'zod';
import { silentLogger } from '../../src/core/logger.js';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import type { GuardFactory, StreamTextFilter } from '../../src/guards/types.js';
import { makeConfig, startUpstream, testDeps, type TestUpstream } from './helpers.js';

const opts = z.object({ word: z.string().default('Hel') }).strict();

/** Blocks answers containing `word`; reads whole JSON answers only. */
const responseOnly: GuardFactory<z.infer<typeof opts>> = {
  kind: 'test-response-only',
  description: 'test guard: checkResponse, no stream filter',
  options: opts,
  create: (name, o) => ({
    name,
    kind: 'test-response-only',
    supports: () => true,
    checkResponse: (input) => (input.texts().some((t) => t.text.includes(o.word)) ? { action: 'block', reasons: [{ code: 'test.word', message: 'a word' }] } : { action: 'allow', reasons: [] }),
  }),
};

/** Blocks streamed text containing `word`; has no check for whole answers. */
const streamOnly: GuardFactory<z.infer<typeof opts>> = {
  kind: 'test-stream-only',
  description: 'test guard: stream filter only',
  options: opts,
  create: (name, o) => ({
    name,
    kind: 'test-stream-only',
    supports: () => true,
    openStream: (): StreamTextFilter => ({
      maxHoldBack: 0,
      push: (_ch, text) => (text.includes(o.word) ? { release: '', verdict: { action: 'block', reasons: [{ code: 'test.word', message: 'a word' }] } } : { release: text }),
      end: () => ({ release: '' }),
    }),
  }),
};

/** A stream filter that cannot be opened (a broken guard). */
const brokenStream: GuardFactory<Record<string, never>> = {
  kind: 'test-broken-stream',
  description: 'test guard: openStream throws',
  options: z.object({}).strict(),
  create: (name) => ({
    name,
    kind: 'test-broken-stream',
    supports: () => true,
    checkResponse: () => ({ action: 'allow', reasons: [] }),
    openStream: () => {
      throw new Error('cannot open');
    },
  }),
};

let upstream: TestUpstream;
/** Answers every request with a short SSE stream (a generic model server that streams). */
let sseServer: Server;
let sseUrl = '';
const running: RunningGateway[] = [];

async function gateway(kind: string, onError: 'block' | 'allow' = 'block'): Promise<RunningGateway> {
  const cfg = makeConfig(upstream.url, {
    guards: [{ type: kind, onError }],
    models: [
      { name: 'chat', protocol: 'openai', upstream: { url: upstream.url, model: 'upstream-chat' } },
      { name: 'streamer', protocol: 'generic', upstream: { url: sseUrl } },
    ],
  });
  const gw = await createGateway(cfg, { ...testDeps(), guardFactories: [responseOnly, streamOnly, brokenStream] }, { logger: silentLogger(), processMetrics: false });
  running.push(gw);
  return gw;
}

async function chat(gw: RunningGateway, stream: boolean) {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await r.body.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE */
  }
  return { status: r.statusCode, text, json, guards: r.headers['x-rampart-guards'] };
}

beforeAll(async () => {
  upstream = await startUpstream();
  sseServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"text":"Hel"}\n\n');
      setTimeout(() => res.end('data: {"text":"lo"}\n\n'), 50);
    });
  });
  await new Promise<void>((r) => sseServer.listen(0, '127.0.0.1', r));
  sseUrl = `http://127.0.0.1:${(sseServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const gw of running) await gw.close();
  await upstream?.close();
  await new Promise((r) => sseServer?.close(r));
});

describe('response guards see every answer shape', () => {
  it('a response guard without a stream filter is not bypassed by asking for a stream (regression)', async () => {
    const gw = await gateway('test-response-only');
    const whole = await chat(gw, false);
    expect(whole.status).toBe(403);
    expect(whole.json.error.code).toBe('RAMPART_ERR_GUARD_BLOCKED');
    const streamed = await chat(gw, true);
    expect(streamed.status).toBe(503);
    expect(streamed.json.error.code).toBe('RAMPART_ERR_GUARD_FAILED');
    expect(streamed.text).not.toContain('Hel');
  });

  it('fails open only when the guard says so, and records the error', async () => {
    const gw = await gateway('test-response-only', 'allow');
    const streamed = await chat(gw, true);
    expect(streamed.status).toBe(200);
    expect(streamed.guards).toContain('test-response-only;action=error;phase=response');
  });

  it('a guard with only a stream filter is not bypassed by a whole JSON answer (regression)', async () => {
    const gw = await gateway('test-stream-only');
    const streamed = await chat(gw, true);
    expect(streamed.text).toContain('RAMPART_ERR_GUARD_BLOCKED');
    const whole = await chat(gw, false);
    expect(whole.status).toBe(503);
    expect(whole.json.error.code).toBe('RAMPART_ERR_GUARD_FAILED');
    expect(whole.text).not.toContain('Hello');
  });

  // Regression: each of these refused the call and then dropped the unread upstream body, whose
  // abort came back as an unhandled 'error' event and ended the gateway process.
  it('a stream on a route whose streams cannot be split refuses the call and the gateway lives on', async () => {
    const gw = await gateway('test-stream-only');
    for (let i = 0; i < 2; i++) {
      const r = await request(`${gw.url}/generic/streamer/run`, { method: 'POST', headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' }, body: '{}' });
      const text = await r.body.text();
      expect(r.statusCode).toBe(503);
      expect(text).toContain('RAMPART_ERR_GUARD_FAILED');
      expect(text).not.toContain('Hel');
    }
    await new Promise((r) => setTimeout(r, 100));
  });

  it('a stream filter that cannot be opened refuses the call and the gateway lives on', async () => {
    const gw = await gateway('test-broken-stream');
    const streamed = await chat(gw, true);
    expect(streamed.status).toBe(503);
    expect(streamed.json.error.code).toBe('RAMPART_ERR_GUARD_FAILED');
    await new Promise((r) => setTimeout(r, 100));
    expect((await chat(gw, false)).status).toBe(200);
  });
});
