import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttp1Pool, type Http1Pool, type Http1PoolOptions } from './client.js';
import { codeOf, httpServer, rawServer, readAll, sendWithBackpressure, sleep, type HttpTestServer, type RawServer } from './testing/servers.js';

class Abort extends EventEmitter {
  aborted = false;
  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pool(url: URL, opts: Http1PoolOptions = {}): Http1Pool {
  const p = createHttp1Pool(url, opts);
  cleanups.push(() => p.destroy());
  return p;
}

async function http(handler: Parameters<typeof httpServer>[0]): Promise<HttpTestServer> {
  const s = await httpServer(handler);
  cleanups.push(() => s.close());
  return s;
}

async function raw(answer: Parameters<typeof rawServer>[0]): Promise<RawServer> {
  const s = await rawServer(answer);
  cleanups.push(() => s.close());
  return s;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('keep-alive pool', () => {
  it('reuses one connection for 50 sequential requests', async () => {
    const s = await http((req, res) => res.end(`hello ${req.url}`));
    const p = pool(s.url);
    for (let i = 0; i < 50; i++) {
      const r = await p.request({ method: 'GET', path: `/n/${i}`, headers: {} });
      expect(r.statusCode).toBe(200);
      expect(r.complete?.toString()).toBe(`hello /n/${i}`);
    }
    expect(s.connections).toBe(1);
    expect(p.stats).toEqual({ open: 1, idle: 1, queued: 0 });
  });

  it('opens at most `connections` sockets for 100 concurrent requests, queued in order', async () => {
    let active = 0;
    let most = 0;
    const order: string[] = [];
    const s = await http((req, res) => {
      active++;
      most = Math.max(most, active);
      order.push(req.url!);
      setTimeout(() => {
        active--;
        res.end(req.url);
      }, 2);
    });
    const p = pool(s.url, { connections: 4 });
    const all = await Promise.all(Array.from({ length: 100 }, (_, i) => p.request({ method: 'GET', path: `/${i}`, headers: {} })));
    expect(all.map((r) => r.complete!.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `/${i}`));
    expect(s.connections).toBe(4);
    expect(most).toBe(4);
    // FIFO: the first four went out first, the rest in the order they were asked for.
    expect(order.slice(4)).toEqual(Array.from({ length: 96 }, (_, i) => `/${i + 4}`));
  });

  it('does not reuse a socket after Connection: close', async () => {
    const s = await http((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('x');
    });
    const p = pool(s.url);
    for (let i = 0; i < 3; i++) expect((await p.request({ method: 'GET', path: '/', headers: {} })).complete!.toString()).toBe('x');
    expect(s.connections).toBe(3);
  });

  it('does not reuse an HTTP/1.0 answer without keep-alive, and reuses one with it', async () => {
    const s = await raw((req) => req.socket.write(req.path === '/ka' ? 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na' : 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb'));
    const p = pool(s.url);
    await p.request({ method: 'GET', path: '/ka', headers: {} });
    await p.request({ method: 'GET', path: '/ka', headers: {} });
    expect(s.connections).toBe(1);
    await p.request({ method: 'GET', path: '/plain', headers: {} });
    await p.request({ method: 'GET', path: '/plain', headers: {} });
    expect(s.connections).toBe(2);
  });

  it('honours Keep-Alive: timeout=N by closing the idle socket about a second before N', async () => {
    const s = await raw((req) => req.socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=${req.path.slice(1)}\r\nContent-Length: 0\r\n\r\n`));
    const p = pool(s.url);
    // timeout=1 leaves no time at all: never reused.
    await p.request({ method: 'GET', path: '/1', headers: {} });
    await p.request({ method: 'GET', path: '/1', headers: {} });
    expect(s.connections).toBe(2);
    await p.request({ method: 'GET', path: '/2', headers: {} });
    expect(p.stats.idle).toBe(1);
    await sleep(600);
    expect(p.stats.idle).toBe(1);
    await sleep(700);
    expect(p.stats).toEqual({ open: 0, idle: 0, queued: 0 });
  });

  it('closes sockets idle for keepAliveTimeout', async () => {
    const s = await http((_req, res) => res.end('x'));
    const p = pool(s.url, { keepAliveTimeout: 100 });
    await p.request({ method: 'GET', path: '/', headers: {} });
    expect(p.stats.idle).toBe(1);
    await sleep(250);
    expect(p.stats.open).toBe(0);
    await sleep(20);
    expect(s.open).toBe(0);
  });

  it('drops an idle socket the server closed, and the next request opens a new one', async () => {
    const s = await http((_req, res) => res.end('x'));
    s.server.keepAliveTimeout = 50;
    const p = pool(s.url);
    await p.request({ method: 'GET', path: '/', headers: {} });
    await sleep(200);
    expect(p.stats.open).toBe(0);
    expect((await p.request({ method: 'GET', path: '/', headers: {} })).complete!.toString()).toBe('x');
    expect(s.connections).toBe(2);
  });

  it('retries a GET once on a new connection when a reused socket was closed before any answer byte', async () => {
    const s = await raw((req) => {
      if (req.n === 2) req.socket.destroy();
      else req.socket.write(OK);
    });
    const p = pool(s.url);
    await p.request({ method: 'GET', path: '/', headers: {} });
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.complete!.toString()).toBe('ok');
    expect(s.connections).toBe(2);
  });

  it('does not retry a POST that was written to a socket the server then closed', async () => {
    const s = await raw((req) => {
      if (req.n === 2) req.socket.destroy();
      else req.socket.write(OK);
    });
    const p = pool(s.url);
    await p.request({ method: 'POST', path: '/', headers: {}, body: Buffer.from('{}') });
    const code = await codeOf(p.request({ method: 'POST', path: '/', headers: {}, body: Buffer.from('{}') }));
    expect(['RAMPART_ERR_UPSTREAM_CLOSED', 'ECONNRESET']).toContain(code);
    expect(s.requests.length).toBe(2);
    expect(s.connections).toBe(1);
  });

  it('does not retry on a first-use socket', async () => {
    const s = await raw((req) => req.socket.destroy());
    const p = pool(s.url);
    expect(['RAMPART_ERR_UPSTREAM_CLOSED', 'ECONNRESET']).toContain(await codeOf(p.request({ method: 'GET', path: '/', headers: {} })));
    expect(s.requests.length).toBe(1);
  });

  it('reports a refused connection with the OS code', async () => {
    const s = await raw(() => undefined);
    const url = s.url;
    await s.close();
    const p = pool(url);
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {} }))).toBe('ECONNREFUSED');
  });

  it('close() lets in-flight requests finish, then refuses new ones', async () => {
    const s = await http((_req, res) => setTimeout(() => res.end('late'), 50));
    const p = pool(s.url);
    const inflight = p.request({ method: 'GET', path: '/', headers: {} });
    await sleep(10);
    const closed = p.close();
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {} }))).toBe('RAMPART_ERR_UPSTREAM_POOL_CLOSED');
    expect((await inflight).complete!.toString()).toBe('late');
    await closed;
    expect(p.stats.open).toBe(0);
  });

  it('destroy() fails in-flight requests', async () => {
    const s = await raw(() => undefined);
    const p = pool(s.url);
    const inflight = codeOf(p.request({ method: 'GET', path: '/', headers: {} }));
    await sleep(20);
    await p.destroy();
    expect(await inflight).toBe('RAMPART_ERR_UPSTREAM_POOL_CLOSED');
  });
});

describe('requests on the wire', () => {
  it('writes head and body, sets host and content-length, drops framing headers of the caller', async () => {
    const s = await raw((req) => req.socket.write(OK));
    const p = pool(s.url);
    await p.request({ method: 'POST', path: '/a?b=c', headers: { 'content-type': 'application/json', 'content-length': '999', 'transfer-encoding': 'chunked', connection: 'upgrade' }, body: Buffer.from('{"a":1}') });
    const r = s.requests[0]!;
    expect(r.rawHead).toBe(`POST /a?b=c HTTP/1.1\r\nhost: ${s.url.host}\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n`);
    expect(r.body.toString()).toBe('{"a":1}');
    await p.request({ method: 'GET', path: '/', headers: { Host: 'model.internal' } });
    expect(s.requests[1]!.rawHead).toBe('GET / HTTP/1.1\r\nhost: model.internal\r\n\r\n');
    await p.request({ method: 'POST', path: '/', headers: {} });
    expect(s.requests[2]!.headers['content-length']).toBe('0');
  });

  it('sends a large body behind the head (written in one corked batch)', async () => {
    const s = await raw((req) => req.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(req.body.length).length}\r\n\r\n${req.body.length}`));
    const p = pool(s.url);
    const body = Buffer.alloc(300_000, 7);
    const r = await p.request({ method: 'POST', path: '/', headers: {}, body });
    expect(r.complete!.toString()).toBe('300000');
    expect(s.requests[0]!.body.equals(body)).toBe(true);
  });

  it.each([
    ['CR LF in a value', { 'x-a': 'v\r\nx-injected: 1' }],
    ['LF in a value', { 'x-a': 'v\nx-injected: 1' }],
    ['CR in a value', { 'x-a': 'v\rx' }],
    ['NUL in a value', { 'x-a': 'v\0x' }],
    ['a character above 0xff', { 'x-a': 'v\u2028' }],
    ['a space in a name', { 'x a': 'v' }],
    ['a colon in a name', { 'x:a': 'v' }],
    ['an empty name', { '': 'v' }],
    ['CR LF in a name', { 'x\r\nb': 'v' }],
  ])('refuses %s before anything is written', async (_what, headers) => {
    const s = await raw((req) => req.socket.write(OK));
    const p = pool(s.url);
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers }))).toBe('RAMPART_ERR_UPSTREAM_BAD_REQUEST');
    await sleep(20);
    expect(s.connections).toBe(0);
    expect(s.bytesIn).toBe(0);
  });

  it.each([
    ['a space in the path', 'GET', '/a b'],
    ['CR LF in the path', 'GET', '/a\r\nx: y'],
    ['a path not starting with /', 'GET', 'http://evil/'],
    ['a space in the method', 'GE T', '/'],
  ])('refuses %s before anything is written', async (_what, method, path) => {
    const s = await raw((req) => req.socket.write(OK));
    const p = pool(s.url);
    expect(await codeOf(p.request({ method, path, headers: {} }))).toBe('RAMPART_ERR_UPSTREAM_BAD_REQUEST');
    expect(s.connections).toBe(0);
  });
});

describe('responses', () => {
  it('gives a small whole response as `complete` and the same bytes as `body`', async () => {
    const s = await http((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-one', 'v');
      res.end('{"ok":true}');
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.complete!.toString()).toBe('{"ok":true}');
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['x-one']).toBe('v');
    expect(r.headers['content-length']).toBe('11');
    expect((await readAll(r.body)).toString()).toBe('{"ok":true}');
  });

  it('wholeBody() gives a body that came whole (up to a size) without making a stream; discard() makes none either', async () => {
    const s = await http((_req, res) => res.end('0123456789'));
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.wholeBody(10)!.toString()).toBe('0123456789');
    expect(r.wholeBody(9)).toBeNull();
    r.discard();
    expect(r.stream).toBeNull();
    // Once the body has been made a stream, its bytes belong to the stream.
    const r2 = await p.request({ method: 'GET', path: '/', headers: {} });
    expect((await readAll(r2.body)).toString()).toBe('0123456789');
    expect(r2.wholeBody(100)).toBeNull();
    r2.discard();
    expect(r2.body.destroyed).toBe(true);
  });

  it('streams a body that arrives in pieces, then reuses the socket', async () => {
    const s = await http((_req, res) => {
      res.setHeader('content-type', 'text/event-stream');
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 30);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.complete).toBeNull();
    expect(r.headers['transfer-encoding']).toBe('chunked');
    const got: string[] = [];
    for await (const c of r.body) got.push((c as Buffer).toString());
    expect(got.join('')).toBe('data: 1\n\ndata: 2\n\n');
    expect(got.length).toBeGreaterThanOrEqual(2);
    await p.request({ method: 'GET', path: '/', headers: {} }).then((x) => readAll(x.body));
    expect(s.connections).toBe(1);
  });

  it('decodes chunked bodies with extensions and trailers, and reuses the socket', async () => {
    const s = await raw((req) =>
      req.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6 ; a="b;c"\r\n world\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n'),
    );
    const p = pool(s.url);
    for (let i = 0; i < 3; i++) {
      const r = await p.request({ method: 'GET', path: '/', headers: {} });
      expect(r.complete!.toString()).toBe('hello world0123456789');
      expect(r.headers['x-trailer']).toBeUndefined();
    }
    expect(s.connections).toBe(1);
  });

  it('reads a body without length until the server closes, and does not reuse the socket', async () => {
    const s = await raw((req) => {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc');
      setTimeout(() => req.socket.end('def'), 20);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.complete).toBeNull();
    expect((await readAll(r.body)).toString()).toBe('abcdef');
    expect((await p.request({ method: 'GET', path: '/', headers: {} }).then((x) => readAll(x.body))).toString()).toBe('abcdef');
    expect(s.connections).toBe(2);
  });

  it('reads no body for HEAD, 204 and 304, and keeps the socket', async () => {
    const s = await http((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else res.writeHead(200, { 'content-length': '100' }).end(req.method === 'HEAD' ? undefined : 'x'.repeat(100));
    });
    const p = pool(s.url);
    const head = await p.request({ method: 'HEAD', path: '/', headers: {} });
    expect(head.headers['content-length']).toBe('100');
    expect(head.complete!.length).toBe(0);
    expect((await p.request({ method: 'GET', path: '/204', headers: {} })).statusCode).toBe(204);
    const r304 = await p.request({ method: 'GET', path: '/304', headers: {} });
    expect([r304.statusCode, r304.complete!.length]).toEqual([304, 0]);
    expect((await p.request({ method: 'GET', path: '/', headers: {} })).complete!.length).toBe(100);
    expect(s.connections).toBe(1);
  });

  it('skips 100 Continue and 103 Early Hints before the final response', async () => {
    const s = await raw((req) => {
      req.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      setTimeout(() => req.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok'), 10);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'POST', path: '/', headers: { expect: '100-continue' }, body: Buffer.from('x') });
    expect(r.statusCode).toBe(201);
    expect(r.headers.link).toBeUndefined();
    expect(r.complete!.toString()).toBe('ok');
  });

  it('accepts repeated equal Content-Length values', async () => {
    const s = await raw((req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc'));
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    expect(r.complete!.toString()).toBe('abc');
    expect(r.headers['content-length']).toBe('3');
  });

  it('returns the socket when a streamed body ends, and destroys it when the body is dropped early', async () => {
    const s = await http((req, res) => {
      res.write('a'.repeat(1000));
      setTimeout(() => res.end('b'), 20);
    });
    const p = pool(s.url);
    const r1 = await p.request({ method: 'GET', path: '/', headers: {} });
    r1.body.destroy();
    await sleep(50);
    expect(p.stats.open).toBe(0);
    const r2 = await p.request({ method: 'GET', path: '/', headers: {} });
    expect((await readAll(r2.body)).length).toBe(1001);
    expect(p.stats).toEqual({ open: 1, idle: 1, queued: 0 });
    expect(s.connections).toBe(2);
  });
});

describe('timeouts and aborts', () => {
  it('fails with a headers timeout when no head arrives', async () => {
    const s = await raw(() => undefined);
    const p = pool(s.url);
    const t0 = performance.now();
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {}, headersTimeout: 150 }))).toBe('RAMPART_ERR_UPSTREAM_HEADERS_TIMEOUT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    await sleep(20);
    expect(s.open.size).toBe(0);
  });

  it('fails the body with a body timeout when the upstream stalls mid-body', async () => {
    const s = await raw((req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'));
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {}, bodyTimeout: 150 });
    expect(await codeOf(readAll(r.body))).toBe('RAMPART_ERR_UPSTREAM_BODY_TIMEOUT');
  });

  it('does not time out a slow body that keeps sending', async () => {
    const s = await raw((req) => {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n');
      let i = 0;
      const t = setInterval(() => {
        req.socket.write('x');
        if (++i === 6) clearInterval(t);
      }, 60);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {}, headersTimeout: 100, bodyTimeout: 100 });
    expect((await readAll(r.body)).toString()).toBe('xxxxxx');
  });

  it('removes an aborted queued request and keeps serving the others', async () => {
    const s = await http((_req, res) => setTimeout(() => res.end('x'), 50));
    const p = pool(s.url, { connections: 1 });
    const first = p.request({ method: 'GET', path: '/', headers: {} });
    const a = new Abort();
    const second = codeOf(p.request({ method: 'GET', path: '/', headers: {}, signal: a }));
    const third = p.request({ method: 'GET', path: '/', headers: {} });
    expect(p.stats.queued).toBe(2);
    a.abort();
    expect(await second).toBe('RAMPART_ERR_UPSTREAM_ABORTED');
    expect(p.stats.queued).toBe(1);
    expect((await first).complete!.toString()).toBe('x');
    expect((await third).complete!.toString()).toBe('x');
    expect(a.listenerCount('abort')).toBe(0);
  });

  it('destroys the socket of an aborted in-flight request', async () => {
    const s = await raw(() => undefined);
    const p = pool(s.url);
    const a = new Abort();
    const pending = codeOf(p.request({ method: 'GET', path: '/', headers: {}, signal: a }));
    await sleep(30);
    expect(s.open.size).toBe(1);
    a.abort();
    expect(await pending).toBe('RAMPART_ERR_UPSTREAM_ABORTED');
    await sleep(30);
    expect(s.open.size).toBe(0);
  });

  it('fails a streamed body when the request is aborted mid-body', async () => {
    const s = await raw((req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'));
    const p = pool(s.url);
    const a = new Abort();
    const r = await p.request({ method: 'GET', path: '/', headers: {}, signal: a });
    const reading = codeOf(readAll(r.body));
    await sleep(20);
    a.abort();
    expect(await reading).toBe('RAMPART_ERR_UPSTREAM_ABORTED');
  });

  it('refuses an already aborted signal and stops listening after a complete response', async () => {
    const s = await raw((req) => req.socket.write(OK));
    const p = pool(s.url);
    const a = new Abort();
    await p.request({ method: 'GET', path: '/', headers: {}, signal: a });
    expect(a.listenerCount('abort')).toBe(0);
    a.abort();
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {}, signal: a }))).toBe('RAMPART_ERR_UPSTREAM_ABORTED');
  });
});

describe('failures nobody is listening for', () => {
  it('a body failing before anyone reads it does not crash the process; a later read rejects', async () => {
    const s = await raw((req) => {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    await sleep(80);
    expect(r.body.destroyed).toBe(true);
    expect(await codeOf(readAll(r.body))).not.toBe('');
  });

  it('fails with a connect timeout when the TLS handshake never completes', async () => {
    const s = await raw(() => undefined);
    const p = pool(new URL(`https://${s.url.host}`), { connectTimeout: 150 });
    expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {} }))).toBe('RAMPART_ERR_UPSTREAM_CONNECT_TIMEOUT');
  });
});

describe('backpressure', () => {
  it('does not buffer a 50 MB body for a slow reader', async () => {
    const total = 50 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 97);
    let sender: { sent: () => number } | null = null;
    const s = await http((_req, res) => {
      sender = sendWithBackpressure(res, total, piece.length, () => piece);
    });
    const p = pool(s.url);
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    const it = r.body[Symbol.asyncIterator]();
    let got = ((await it.next()).value as Buffer).length;
    // A reader that stops for a while: the socket is paused, the server blocks.
    await sleep(300);
    expect(r.body.readableLength).toBeLessThan(1024 * 1024);
    expect(sender!.sent()).toBeLessThan(16 * 1024 * 1024);
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      got += (n.value as Buffer).length;
    }
    expect(got).toBe(total);
  });
});

describe('the shared read buffer', () => {
  it('keeps every body intact when several sockets read while the bodies wait unread', async () => {
    // Every upstream socket reads into one buffer; what a response keeps must be its own copy.
    // Eight bodies with different seeded bytes, sent in small pieces with chunked framing and by
    // Content-Length, all read only after every response has arrived.
    const bodyOf = (i: number): Buffer => {
      const b = Buffer.alloc(40_000 + i * 997);
      let x = 0x9e3779b9 ^ i;
      for (let k = 0; k < b.length; k++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        b[k] = x & 0xff;
      }
      return b;
    };
    const s = await http((req, res) => {
      const i = Number(req.url!.slice(1));
      const b = bodyOf(i);
      if (i % 2 === 0) res.writeHead(200, { 'content-length': String(b.length) });
      let off = 0;
      const step = (): void => {
        if (off >= b.length) {
          res.end();
          return;
        }
        res.write(b.subarray(off, off + 1500));
        off += 1500;
        setImmediate(step);
      };
      step();
    });
    const p = pool(s.url, { connections: 8 });
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => p.request({ method: 'GET', path: `/${i}`, headers: {} })));
    await sleep(200);
    const bodies = await Promise.all(rs.map((r) => (r.complete !== null ? Promise.resolve(r.complete) : readAll(r.body))));
    bodies.forEach((b, i) => expect(b.equals(bodyOf(i))).toBe(true));
    // A small answer that arrived whole with its head is a copy too.
    const small = await http((_req, res) => res.end('whole'));
    const q = pool(small.url);
    const [a, b] = await Promise.all([q.request({ method: 'GET', path: '/', headers: {} }), q.request({ method: 'GET', path: '/', headers: {} })]);
    await p.request({ method: 'GET', path: '/3', headers: {} }).then((r) => (r.complete !== null ? r.complete : readAll(r.body)));
    expect([a.complete?.toString(), b.complete?.toString()]).toEqual(['whole', 'whole']);
  });
});
