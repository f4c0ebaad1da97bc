// The per-request access log line (level info): it carries the status the client got, for answers
// the gateway makes itself (GET /v1/models) as for proxied ones and refusals, and never the key.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { createLogger } from '../../src/core/logger.js';
import { makeConfig, startUpstream, testDeps, type TestUpstream } from './helpers.js';

let upstream: TestUpstream;
let gw: RunningGateway;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  gw = await createGateway(makeConfig(upstream.url, { server: { listen: '127.0.0.1:0', allowPlainHttp: true } }), testDeps({ rules: ['analyst:*:*'] }), {
    logger: createLogger({ level: 'info', destination: dest }),
    processMetrics: false,
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

/** The access log line of the request with this id (written when the response closes). */
async function lineOf(id: unknown): Promise<Record<string, unknown>> {
  const until = Date.now() + 3000;
  for (;;) {
    const l = lines.find((x) => x.reqId === id && x.msg === 'request');
    if (l) return l;
    if (Date.now() > until) throw new Error(`no access log line for ${String(id)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('access log line', () => {
  it('shows the status sent: 200 for GET /v1/models and a chat completion, 401 without a key', async () => {
    const models = await request(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer key-alice' } });
    await models.body.dump();
    expect(models.statusCode).toBe(200);
    expect(await lineOf(models.headers['x-request-id'])).toMatchObject({ method: 'GET', path: '/v1/models', route: 'openai.models.list', status: 200, decision: 'allow' });

    const chat = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await chat.body.dump();
    expect(await lineOf(chat.headers['x-request-id'])).toMatchObject({ status: 200, model: 'chat', principal: 'alice' });

    const anon = await request(`${gw.url}/v1/models`);
    await anon.body.dump();
    expect(await lineOf(anon.headers['x-request-id'])).toMatchObject({ status: 401, code: 'RAMPART_ERR_AUTH_MISSING' });
    expect(JSON.stringify(lines)).not.toContain('key-alice');
  });
});
