import { afterEach, describe, expect, it } from 'vitest';
import { modelSchema } from '../config/schema.js';
import { BadRequestError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors.js';
import { rawServer, type RawServer } from './http1/testing/servers.js';
import { UpstreamAbort, callUpstream, closeUpstreams, createUpstreams, type Upstream } from './upstream.js';
import { createLogger } from '../core/logger.js';

const log = createLogger({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function raw(answer: Parameters<typeof rawServer>[0]): Promise<RawServer> {
  const s = await rawServer(answer);
  cleanups.push(() => s.close());
  return s;
}

function upstream(url: URL, extra: Record<string, unknown> = {}): Upstream {
  const m = modelSchema.parse({ name: 'm', protocol: 'generic', upstream: { url: `${url.origin}/base`, ...extra } });
  const ups = createUpstreams([m]);
  cleanups.push(() => closeUpstreams(ups));
  return ups.get('m')!;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('callUpstream', () => {
  it('sends below the base path with the static headers, and answers with the response', async () => {
    const s = await raw((req) => req.socket.write(OK));
    const up = upstream(s.url, { headers: { 'X-Upstream-Key': 'k1' } });
    const r = await callUpstream(up, { method: 'POST', path: '/v1/x?y=1', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}'), signal: new UpstreamAbort() }, log);
    expect([r.statusCode, r.complete?.toString()]).toEqual([200, 'ok']);
    expect(s.requests[0]).toMatchObject({ method: 'POST', path: '/base/v1/x?y=1', headers: { 'x-upstream-key': 'k1', 'content-length': '2' } });
  });

  it('retries a GET after the connection closed before any answer, up to upstream.retries', async () => {
    let n = 0;
    const s = await raw((req) => {
      if (++n === 1) req.socket.destroy();
      else req.socket.write(OK);
    });
    const up = upstream(s.url, { retries: 1 });
    const r = await callUpstream(up, { method: 'GET', path: '/', headers: {}, signal: new UpstreamAbort() }, log);
    expect(r.statusCode).toBe(200);
    expect(s.requests.length).toBe(2);
  });

  it('does not retry a POST after the connection closed: 502', async () => {
    const s = await raw((req) => req.socket.destroy());
    const up = upstream(s.url, { retries: 3 });
    const err = await callUpstream(up, { method: 'POST', path: '/', headers: {}, body: Buffer.from('{}'), signal: new UpstreamAbort() }, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(s.requests.length).toBe(1);
  });

  it('maps a headers timeout to 504', async () => {
    const s = await raw(() => undefined);
    const up = upstream(s.url, { timeout: '150ms', retries: 0 });
    const err = await callUpstream(up, { method: 'GET', path: '/', headers: {}, signal: new UpstreamAbort() }, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect((err as Error).cause).toMatchObject({ code: 'RAMPART_ERR_UPSTREAM_HEADERS_TIMEOUT' });
  });

  it('maps a malformed response to 502', async () => {
    const s = await raw((req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'));
    const up = upstream(s.url, { retries: 2 });
    const err = await callUpstream(up, { method: 'GET', path: '/', headers: {}, signal: new UpstreamAbort() }, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as Error).cause).toMatchObject({ code: 'RAMPART_ERR_UPSTREAM_PROTOCOL' });
    // A malformed answer is not a connection failure: not retried.
    expect(s.requests.length).toBe(1);
  });

  it('refuses a header value that would split the request: 400, nothing sent', async () => {
    const s = await raw((req) => req.socket.write(OK));
    const up = upstream(s.url);
    const err = await callUpstream(up, { method: 'GET', path: '/', headers: { 'x-a': 'b\r\nx-smuggled: 1' }, signal: new UpstreamAbort() }, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(s.connections).toBe(0);
  });

  it('rethrows the raw error of an aborted call so the caller sees its own abort', async () => {
    const s = await raw(() => undefined);
    const up = upstream(s.url);
    const abort = new UpstreamAbort();
    const p = callUpstream(up, { method: 'GET', path: '/', headers: {}, signal: abort }, log).catch((e: unknown) => e);
    setTimeout(() => abort.abort(), 20);
    expect(await p).toMatchObject({ code: 'RAMPART_ERR_UPSTREAM_ABORTED' });
  });
});

describe('createUpstreams', () => {
  it('refuses a static upstream header value with CR or LF at start-up', () => {
    const m = modelSchema.parse({ name: 'm', protocol: 'generic', upstream: { url: 'http://127.0.0.1:9', headers: { 'x-key': 'a\r\nx-evil: 1' } } });
    expect(() => createUpstreams([m])).toThrow(expect.objectContaining({ code: 'RAMPART_ERR_CONFIG_INVALID' }));
  });

  it('shares one pool between models with the same upstream', () => {
    const a = modelSchema.parse({ name: 'a', protocol: 'generic', upstream: { url: 'http://127.0.0.1:9/x' } });
    const b = modelSchema.parse({ name: 'b', protocol: 'generic', upstream: { url: 'http://127.0.0.1:9/y' } });
    const ups = createUpstreams([a, b]);
    expect(ups.get('a')!.pool).toBe(ups.get('b')!.pool);
    return closeUpstreams(ups);
  });
});
