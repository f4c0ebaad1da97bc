// End-to-end tests of the gateway pipeline over plain HTTP on loopback (TLS has its own file):
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
// routes and protocol error shapes, authn/authz/quota refusals, SSE streaming without buffering,
// usage accounting, upstream failures and client disconnects, each with its audit record.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { makeConfig, startUpstream, testDeps, type TestDeps, type TestUpstream } from './helpers.js';

let upstream: TestUpstream;
let gw: RunningGateway;
let deps: TestDeps;

const alice = { authorization: 'Bearer key-alice', 'content-type': 'application/json' };
const bob = { authorization: 'Bearer key-bob', 'content-type': 'application/json' };

async function post(path: string, body: unknown, headers: Record<string, string> = alice) {
  const r = await request(`${gw.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.statusCode, headers: r.headers, text, json: json as Record<string, any> };
}

async function get(path: string, headers: Record<string, string> = alice) {
  const r = await request(`${gw.url}${path}`, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: (text.startsWith('{') ? JSON.parse(text) : null) as Record<string, any> };
}

/** The audit record of a response (written when the server side of the response closes, which can trail the client by a tick). */
async function auditOf(r: { headers: Record<string, unknown> }) {
  const id = r.headers['x-request-id'];
  const until = Date.now() + 3000;
  for (;;) {
    const rec = deps.audit.records.find((a) => a.id === id);
    if (rec) return rec;
    if (Date.now() > until) throw new Error(`no audit record for ${String(id)}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

beforeAll(async () => {
  upstream = await startUpstream();
  deps = testDeps({ rules: ['analyst:*:*', 'viewer:list:chat', 'svc:*:*'] });
  gw = await createGateway(makeConfig(upstream.url, { server: { listen: '127.0.0.1:0', allowPlainHttp: true, bodyLimit: '2kb', headersTimeout: '500ms', requestTimeout: '1s' } }), deps, {
    logger: silentLogger(),
    processMetrics: false,
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('OpenAI routes', () => {
  it('proxies a chat completion, rewrites the model name, strips credentials and records usage', async () => {
    const r = await post('/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('Hello!');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const sent = upstream.seen[upstream.seen.length - 1]!;
    expect(JSON.parse(sent.body).model).toBe('upstream-chat');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers['x-request-id']).toBe(r.headers['x-request-id']);
    await deps.audit.waitFor(1);
    const rec = deps.audit.records.find((a) => a.id === r.headers['x-request-id'])!;
    expect(rec).toMatchObject({ principal: 'alice', model: 'chat', action: 'invoke', decision: 'allow', status: 200, errorCode: null, route: 'openai.chat.completions' });
    expect(rec.usage).toEqual({ promptTokens: 11, completionTokens: 7, totalTokens: 18 });
    expect(rec.policyIds).toEqual(['analyst:*:*']);
    expect(rec.bytesIn).toBeGreaterThan(0);
    expect(rec.bytesOut).toBe(Buffer.byteLength(r.text));
    expect(rec.upstreamMs).toBeGreaterThanOrEqual(0);
    expect(rec.requestBody).toBeUndefined();
  });

  it('streams SSE chunk by chunk: the first chunk reaches the client before the upstream sends the last', async () => {
    const before = deps.audit.records.length;
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: alice,
      body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hold' }] }),
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/event-stream');
    const it = r.body[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer;
    // The upstream is still holding its last chunk: what we have came through unbuffered.
    expect(first.toString()).toContain('Hel');
    upstream.releaseLast();
    let rest = first.toString();
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      rest += (n.value as Buffer).toString();
    }
    expect(rest).toContain('"!"');
    expect(rest).toContain('[DONE]');
    // The gateway asked for usage; the client did not, so the usage-only chunk is hidden.
    expect(rest).not.toMatch(/"choices":\[\]/);
    const sent = JSON.parse(upstream.seen[upstream.seen.length - 1]!.body);
    expect(sent.stream_options).toEqual({ include_usage: true });
    const recs = await deps.audit.waitFor(before + 1);
    expect(recs[recs.length - 1]!.usage).toEqual({ promptTokens: 11, completionTokens: 7, totalTokens: 18 });
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const r = await post('/v1/chat/completions', { model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [] });
    expect(r.text).toMatch(/"choices":\[\],"usage":\{"prompt_tokens":11/);
    expect((await auditOf(r)).usage?.totalTokens).toBe(18);
  });

  it('proxies embeddings with usage', async () => {
    const r = await post('/v1/embeddings', { model: 'embed', input: 'x' });
    expect(r.status).toBe(200);
    expect(r.json.data[0].embedding).toHaveLength(3);
    expect((await auditOf(r)).usage).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 });
  });

  it('lists only the models the caller may list or invoke', async () => {
    const a = await get('/v1/models');
    expect(a.json.data.map((m: { id: string }) => m.id).sort()).toEqual(['chat', 'down', 'embed', 'slow']);
    expect(a.json.data.find((m: { id: string }) => m.id === 'chat').owned_by).toBe('team-a');
    expect(await auditOf(a)).toMatchObject({ route: 'openai.models.list', action: 'list', status: 200, decision: 'allow', principal: 'alice' });
    const b = await get('/v1/models', bob);
    expect(b.json.data.map((m: { id: string }) => m.id)).toEqual(['chat']);
    expect((await get('/v1/models/chat', bob)).status).toBe(200);
    const hidden = await get('/v1/models/embed', bob);
    expect(hidden.status).toBe(404);
  });
});

describe('refusals in the protocol shape', () => {
  it('401 without credentials, OpenAI error object with the Rampart code', async () => {
    const r = await post('/v1/chat/completions', { model: 'chat', messages: [] }, { 'content-type': 'application/json' });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('Bearer');
    expect(r.json).toEqual({ error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'RAMPART_ERR_AUTH_MISSING' } });
    expect(await auditOf(r)).toMatchObject({ decision: 'deny', status: 401, errorCode: 'RAMPART_ERR_AUTH_MISSING', principal: null });
  });

  it('403 when the policy denies, with the decision audited', async () => {
    const n = upstream.seen.length;
    const r = await post('/v1/chat/completions', { model: 'chat', messages: [] }, bob);
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('RAMPART_ERR_POLICY_DENIED');
    expect(r.json.error.type).toBe('permission_error');
    expect(upstream.seen.length).toBe(n);
    expect(await auditOf(r)).toMatchObject({ principal: 'bob', model: 'chat', decision: 'deny', status: 403 });
  });

  it('400 on malformed JSON and on a missing model', async () => {
    const bad = await post('/v1/chat/completions', '{"model": "chat", ');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('RAMPART_ERR_GATEWAY_BAD_JSON');
    const arr = await post('/v1/chat/completions', '[1,2]');
    expect(arr.json.error.code).toBe('RAMPART_ERR_GATEWAY_BAD_JSON');
    const none = await post('/v1/chat/completions', { messages: [] });
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe('RAMPART_ERR_GATEWAY_BAD_REQUEST');
  });

  it('404 for an unknown model and an unknown route, in each protocol shape', async () => {
    const m = await post('/v1/chat/completions', { model: 'nope', messages: [] });
    expect(m.status).toBe(404);
    expect(m.json.error.code).toBe('RAMPART_ERR_GATEWAY_MODEL_NOT_FOUND');
    // A KServe model is not reachable through the OpenAI routes.
    expect((await post('/v1/chat/completions', { model: 'digits', messages: [] })).status).toBe(404);
    const v2 = await post('/v2/models/nope/infer', { inputs: [] });
    expect(v2.status).toBe(404);
    expect(v2.json).toEqual({ error: expect.any(String), code: 'RAMPART_ERR_GATEWAY_MODEL_NOT_FOUND' });
    const route = await get('/v1/nothing');
    expect(route.status).toBe(404);
    expect(route.json.error.code).toBe('RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND');
    const v2route = await get('/v2/models/digits/versions/1/explain');
    expect(v2route.json.code).toBe('RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND');
  });

  it('405 with Allow for a wrong method', async () => {
    const r = await get('/v1/chat/completions');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST');
  });

  it('413 above the body limit, declared or streamed, and the connection is closed', async () => {
    const big = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
    const r = await post('/v1/chat/completions', big);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('RAMPART_ERR_GATEWAY_BODY_TOO_LARGE');
    // Chunked (no Content-Length): the limit is enforced while reading.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: alice }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(big.slice(0, 1500));
      req.write(big.slice(1500));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('path tricks on the generic route are refused', async () => {
    // undici and WHATWG URLs normalise dot segments away, so send raw paths with node:http.
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(gw.url);
        const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', headers: alice }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
    expect(await raw('/generic/thing/../../etc')).toBe(400);
    expect(await raw('/generic/thing/%2e%2e/x')).toBe(400);
    expect(await raw('/generic/thing/a%2Fb')).toBe(400);
    expect(await raw('/generic/thing/ok')).toBe(201);
  });

  it('a slow client that never finishes its headers is cut off (408)', async () => {
    const addr = new URL(gw.url);
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(addr.port), addr.hostname, () => s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'));
      let data = '';
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer).toContain('RAMPART_ERR_GATEWAY_REQUEST_TIMEOUT');
  });
});

describe('quotas', () => {
  it('answers 429 with Retry-After and releases every lease', async () => {
    const d = testDeps({ quotaLimit: 2 });
    const g = await createGateway(makeConfig(upstream.url), d, { logger: silentLogger(), processMetrics: false });
    try {
      const call = () => request(`${g.url}/v1/embeddings`, { method: 'POST', headers: alice, body: JSON.stringify({ model: 'embed', input: 'x' }) });
      for (let i = 0; i < 2; i++) {
        const ok = await call();
        expect(ok.statusCode).toBe(200);
        await ok.body.text();
      }
      const r = await call();
      const j = (await r.body.json()) as { error: { code: string; type: string } };
      expect(r.statusCode).toBe(429);
      expect(r.headers['retry-after']).toBe('7');
      expect(j.error).toMatchObject({ code: 'RAMPART_ERR_QUOTA_EXCEEDED', type: 'rate_limit_error' });
      await d.audit.waitFor(3);
      expect(d.quotas.active).toBe(0);
      expect(d.audit.records[d.audit.records.length - 1]).toMatchObject({ decision: 'deny', status: 429 });
    } finally {
      await g.close();
    }
  });
});

describe('upstream failures', () => {
  it('502 when the upstream is down', async () => {
    const r = await post('/v1/chat/completions', { model: 'down', messages: [] });
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ code: 'RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE', type: 'api_error' });
    expect(r.text).not.toContain('ECONNREFUSED');
    expect(await auditOf(r)).toMatchObject({ decision: 'allow', status: 502, errorCode: 'RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE' });
  });

  it('504 when the upstream is slower than upstream.timeout', async () => {
    const t0 = Date.now();
    const r = await post('/v1/chat/completions', { model: 'slow', messages: [] });
    expect(r.status).toBe(504);
    expect(r.json.error.code).toBe('RAMPART_ERR_GATEWAY_UPSTREAM_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(1400);
  });

  it('a client that disconnects mid-stream aborts the upstream request and is still audited', async () => {
    const before = deps.audit.records.length;
    const u = new URL(gw.url);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', headers: alice },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hold' }] }));
      setTimeout(() => reject(new Error('no data')), 3000);
    });
    await upstream.streamAborted;
    const recs = await deps.audit.waitFor(before + 1);
    expect(recs[recs.length - 1]).toMatchObject({ status: 499, errorCode: 'RAMPART_ERR_GATEWAY_CLIENT_CLOSED', decision: 'allow', model: 'chat' });
  });

  it('a client that disconnects before the upstream answers cancels the upstream call and is audited as 499', async () => {
    const before = deps.audit.records.length;
    const u = new URL(gw.url);
    const req = httpRequest({ host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', headers: alice });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: 'slow', messages: [] }));
    setTimeout(() => req.destroy(), 150);
    const recs = await deps.audit.waitFor(before + 1);
    expect(recs[recs.length - 1]).toMatchObject({ status: 499, errorCode: 'RAMPART_ERR_GATEWAY_CLIENT_CLOSED', model: 'slow' });
    expect((await post('/v1/chat/completions', { model: 'chat', messages: [] })).status).toBe(200);
  });
});

describe('KServe v2 and generic routes', () => {
  it('infers, reads metadata and readiness, rewriting the model name in the URL', async () => {
    const r = await post('/v2/models/digits/infer', { inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0) }] });
    expect(r.status).toBe(200);
    expect(upstream.seen[upstream.seen.length - 1]!.url).toBe('/v2/models/digits-v1/infer');
    const v = await post('/v2/models/digits/versions/3/infer', { inputs: [] });
    expect(v.status).toBe(200);
    expect(upstream.seen[upstream.seen.length - 1]!.url).toBe('/v2/models/digits-v1/versions/3/infer');
    expect((await get('/v2/models/digits')).json.name).toBe('digits-v1');
    expect((await get('/v2/models/digits/ready')).json.ready).toBe(true);
    // bob may not list or invoke digits
    const denied = await get('/v2/models/digits', bob);
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe('RAMPART_ERR_POLICY_DENIED');
    const bad = await post('/v2/models/digits/infer', 'not json');
    expect(bad.json).toEqual({ error: expect.any(String), code: 'RAMPART_ERR_GATEWAY_BAD_JSON' });
  });

  it('health routes answer without credentials', async () => {
    expect((await get('/v2/health/live', {})).json).toEqual({ live: true });
    expect((await get('/v2/health/ready', {})).json).toEqual({ ready: true });
    expect((await get('/healthz', {})).json).toEqual({ status: 'ok' });
    expect((await get('/readyz', {})).status).toBe(200);
  });

  it('generic route forwards path, query, status and headers under the upstream base path', async () => {
    const r = await post('/generic/thing/api/run?x=1', { a: 1 });
    expect(r.status).toBe(201);
    expect(r.headers['x-upstream']).toBe('generic');
    expect(r.json).toEqual({ echoed: { a: 1 }, path: '/base/api/run?x=1' });
    expect((await post('/generic/thing/api', '{oops')).json.code).toBe('RAMPART_ERR_GATEWAY_BAD_JSON');
  });
});

describe('metrics', () => {
  it('exposes request counters and latency histograms', async () => {
    const m = await get('/metrics', {});
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/rampart_gateway_requests_total\{route="openai.chat.completions",model="chat",decision="allow",status="200"\} \d+/);
    expect(m.text).toMatch(/rampart_gateway_requests_total\{[^}]*decision="deny",status="403"\}/);
    expect(m.text).toContain('rampart_gateway_request_duration_seconds_bucket');
    expect(m.text).toContain('rampart_gateway_upstream_duration_seconds_bucket');
    expect(m.text).toMatch(/rampart_gateway_tokens_total\{model="chat",kind="prompt"\} \d+/);
  });
});
