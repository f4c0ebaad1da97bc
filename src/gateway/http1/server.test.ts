import type { IncomingMessage} from 'node:http';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { mulberry32 } from '../../detect/random.js';
import { readBody } from '../request.js';
import type { GatewayRequest, GatewayResponse } from './types.js';
import { attachHttp1Front, Http1Request, MAX_HEAD, parseSubsetHead, type Http1Front, type SubsetHead } from './server.js';

interface Seen {
  engine: 'front' | 'node';
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: string;
}

interface Harness {
  port: number;
  seen: Seen[];
  front: Http1Front;
  server: Server;
}

type Handler = (req: GatewayRequest, res: GatewayResponse, seen: Seen[]) => void;

/** Echo: answers with the parsed request as JSON (engine, method, url, headers, body). */
const echo: Handler = (req, res, seen) => {
  readBody(req, 1 << 20).then(
    (b) => {
      const s: Seen = { engine: req instanceof Http1Request ? 'front' : 'node', method: req.method!, url: req.url!, headers: { ...req.headers }, body: b.toString('latin1') };
      seen.push(s);
      const out = JSON.stringify(s);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    },
    (e: Error & { code?: string }) => {
      res.writeHead(e.code === 'RAMPART_ERR_GATEWAY_REQUEST_TIMEOUT' ? 408 : 400, { connection: 'close' });
      res.end(e.code ?? 'error');
    },
  );
};

const servers: [Server, Http1Front][] = [];
afterEach(async () => {
  for (const [s, front] of servers.splice(0)) {
    front.closeAll();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function start(handler: Handler = echo, opts: Partial<{ headersTimeout: number; requestTimeout: number; keepAliveTimeout: number }> = {}): Promise<Harness> {
  const seen: Seen[] = [];
  const server = createServer({ headersTimeout: opts.headersTimeout ?? 5000, requestTimeout: opts.requestTimeout ?? 10_000, keepAliveTimeout: opts.keepAliveTimeout ?? 5000 }, (req: IncomingMessage, res: ServerResponse) =>
    handler(req, res, seen),
  );
  const front = attachHttp1Front(server, 'connection', {
    headersTimeout: opts.headersTimeout ?? 5000,
    requestTimeout: opts.requestTimeout ?? 10_000,
    keepAliveTimeout: opts.keepAliveTimeout ?? 5000,
    onRequest: (req, res) => handler(req, res, seen),
    timeoutAnswer: () => 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
  });
  servers.push([server, front]);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, front, server };
}

/** Minimal strict reader of HTTP/1.1 responses from a raw socket (Content-Length, chunked, or until close). */
class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }
  static async open(port: number): Promise<RawClient> {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return new RawClient(s);
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  private async more(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((r) => this.waiters.push(r));
  }
  send(s: string | Buffer): void {
    this.sock.write(s);
  }
  async response(head = false): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more();
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    this.buf = this.buf.subarray(end + 4);
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    if (head || status < 200 || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      while (this.buf.length < n) await this.more();
      const body = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      return { status, headers, body };
    }
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        let nl: number;
        while ((nl = this.buf.indexOf('\r\n')) < 0) await this.more();
        const size = parseInt(this.buf.toString('latin1', 0, nl), 16);
        while (this.buf.length < nl + 2 + size + 2) await this.more();
        parts.push(this.buf.subarray(nl + 2, nl + 2 + size));
        this.buf = this.buf.subarray(nl + 2 + size + 2);
        if (size === 0) return { status, headers, body: Buffer.concat(parts) };
      }
    }
    while (!this.closed) await this.more().catch(() => undefined);
    return { status, headers, body: this.buf };
  }
  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }
}

const post = (body: string, extra = ''): string => `POST /v1/echo?q=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('HTTP/1.1 front: requests in the subset', () => {
  it('serves many requests on one keep-alive connection, with the head and body parsed exactly', async () => {
    const h = await start();
    const c = await RawClient.open(h.port);
    for (let i = 0; i < 50; i++) {
      const body = JSON.stringify({ i, text: 'é'.repeat(i) });
      c.send(post(body, `X-Seq: ${i}\r\nX-Spaces:   padded value \t\r\n`));
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(r.headers.connection).toBe('keep-alive');
      expect(r.headers['keep-alive']).toBe('timeout=5');
      expect(r.headers.date).toMatch(/GMT$/);
      const s = JSON.parse(r.body.toString('utf8')) as Seen;
      expect(s).toMatchObject({ engine: 'front', method: 'POST', url: '/v1/echo?q=1' });
      expect(s.headers).toMatchObject({ host: 'gw', 'x-seq': String(i), 'x-spaces': 'padded value', 'content-type': 'application/json' });
      expect(Buffer.from(s.body, 'latin1').toString('utf8')).toBe(body);
    }
    expect(h.front.handOffs).toBe(0);
    c.sock.destroy();
  });

  it('answers pipelined requests in order, one at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const h = await start((req, res, seen) => {
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        echo(req, res, seen);
      }, 5);
    });
    const c = await RawClient.open(h.port);
    c.send(post('{"n":1}') + post('{"n":2}') + `GET /three HTTP/1.1\r\nHost: gw\r\n\r\n`);
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push(JSON.parse((await c.response()).body.toString()) as Seen);
    expect(bodies.map((b) => b.body || b.url)).toEqual(['{"n":1}', '{"n":2}', '/three']);
    expect(maxActive).toBe(1);
    c.sock.destroy();
  });

  it('parses a request split at every byte position the same way', async () => {
    const h = await start();
    const raw = Buffer.from(post('{"model":"chat","messages":[]}', 'Authorization: Bearer abc\r\n'));
    for (let cut = 1; cut < raw.length; cut++) {
      const c = await RawClient.open(h.port);
      c.send(raw.subarray(0, cut));
      await new Promise((r) => setImmediate(r));
      c.send(raw.subarray(cut));
      const s = JSON.parse((await c.response()).body.toString()) as Seen;
      expect(s.engine).toBe('front');
      expect(s.body).toBe('{"model":"chat","messages":[]}');
      expect(s.headers.authorization).toBe('Bearer abc');
      c.sock.destroy();
    }
  });

  it('is used by a real HTTP client (undici) with keep-alive', async () => {
    const h = await start();
    for (let i = 0; i < 5; i++) {
      const r = await request(`http://127.0.0.1:${h.port}/v1/x`, { method: 'POST', body: `{"i":${i}}`, headers: { 'content-type': 'application/json' } });
      expect(r.statusCode).toBe(200);
      expect(((await r.body.json()) as Seen).body).toBe(`{"i":${i}}`);
    }
    expect(h.seen.every((s) => s.engine === 'front')).toBe(true);
  });
});

describe('HTTP/1.1 front: responses', () => {
  it('frames a streamed response as chunks, and a HEAD or 204 answer without a body', async () => {
    const h = await start((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        let n = 0;
        const t = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === 5) {
            clearInterval(t);
            res.end();
          }
        }, 2);
      } else if (req.url === '/empty') {
        res.writeHead(204, { 'content-length': '10' });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('hello');
      }
    });
    const c = await RawClient.open(h.port);
    c.send('GET /stream HTTP/1.1\r\nHost: gw\r\n\r\n');
    const s = await c.response();
    expect(s.headers['transfer-encoding']).toBe('chunked');
    expect(s.body.toString()).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
    c.send('HEAD /x HTTP/1.1\r\nHost: gw\r\n\r\n');
    const hd = await c.response(true);
    expect(hd.status).toBe(200);
    c.send('GET /empty HTTP/1.1\r\nHost: gw\r\n\r\n');
    const e = await c.response();
    expect(e.status).toBe(204);
    expect(e.headers['content-length']).toBeUndefined();
    // The connection is still in step: the HEAD answer carried no body bytes.
    c.send('GET /x HTTP/1.1\r\nHost: gw\r\n\r\n');
    const g = await c.response();
    expect(g.body.toString()).toBe('hello');
    expect(g.headers['content-length']).toBe('5');
    c.sock.destroy();

    const r = await request(`http://127.0.0.1:${h.port}/stream`);
    expect(await r.body.text()).toContain('data: 4');
  });

  it('refuses a header value that would split the response, and a name that is not a token', async () => {
    const errors: string[] = [];
    const h = await start((_req, res) => {
      for (const [k, v] of [
        ['x-evil', 'a\r\nset-cookie: x=1'],
        ['bad name', 'v'],
      ] as const) {
        try {
          res.writeHead(200, { [k]: v });
        } catch (e) {
          errors.push((e as Error).message);
        }
        try {
          res.setHeader(k, v);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('clean');
    });
    const c = await RawClient.open(h.port);
    c.send('GET / HTTP/1.1\r\nHost: gw\r\n\r\n');
    const r = await c.response();
    expect(errors).toHaveLength(4);
    expect(errors.filter((m) => /invalid character/.test(m))).toHaveLength(2);
    expect(errors.filter((m) => /invalid header name/.test(m))).toHaveLength(2);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.headers['x-evil']).toBeUndefined();
    expect(r.body.toString()).toBe('clean');
    c.sock.destroy();
  });

  it('closes the connection after a response whose body does not match its Content-Length', async () => {
    const h = await start((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.end('short');
    });
    const c = await RawClient.open(h.port);
    c.send('GET / HTTP/1.1\r\nHost: gw\r\n\r\n');
    await c.waitClosed();
  });

  it("honours the client's Connection: close and a handler's connection: close", async () => {
    const h = await start();
    const c = await RawClient.open(h.port);
    c.send(post('{}', 'Connection: close\r\n'));
    const r = await c.response();
    expect(r.headers.connection).toBe('close');
    await c.waitClosed();
  });

  it('reports backpressure: write() returns false for a slow reader and drain follows', async () => {
    let sawFalse = false;
    let drained = 0;
    const chunk = Buffer.alloc(64 * 1024, 97);
    const h = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = (): void => {
        while (sent < 200) {
          sent++;
          if (!res.write(chunk)) {
            sawFalse = true;
            res.once('drain', () => {
              drained++;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const c = await RawClient.open(h.port);
    c.sock.pause();
    c.send('GET / HTTP/1.1\r\nHost: gw\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(sawFalse).toBe(true);
    c.sock.resume();
    const r = await c.response();
    expect(r.body.length).toBe(200 * chunk.length);
    expect(drained).toBeGreaterThan(0);
    c.sock.destroy();
  });

  it("emits 'close' unfinished when the client goes away mid-response", async () => {
    let resolveClosed!: (v: boolean) => void;
    const closed = new Promise<boolean>((r) => (resolveClosed = r));
    const h = await start((_req, res) => {
      res.on('close', () => resolveClosed(res.writableFinished));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    const c = await RawClient.open(h.port);
    c.send('GET / HTTP/1.1\r\nHost: gw\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    c.sock.destroy();
    expect(await closed).toBe(false);
  });
});

describe('HTTP/1.1 front: everything else goes to node:http', () => {
  const cases: [string, string][] = [
    ['a chunked request body', 'POST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['Expect: 100-continue', 'POST /e HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi'],
    ['HTTP/1.0', 'GET /old HTTP/1.0\r\nHost: gw\r\n\r\n'],
    ['a repeated header', 'GET /dup HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\nX-A: 2\r\n\r\n'],
    ['a header value with a non-ASCII byte', 'GET /u HTTP/1.1\r\nHost: gw\r\nX-Name: caf\xe9\r\n\r\n'],
    ['an absolute-form target', 'GET http://gw/abs HTTP/1.1\r\nHost: gw\r\n\r\n'],
    ['a Connection header naming another option', 'GET /k HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, x-foo\r\n\r\n'],
  ];
  for (const [what, raw] of cases) {
    it(`${what}: answered by node:http`, async () => {
      const h = await start();
      const c = await RawClient.open(h.port);
      c.send(Buffer.from(raw, 'latin1'));
      const r = await c.response(false);
      if (r.status === 100) {
        const r2 = await c.response();
        expect(r2.status).toBe(200);
      } else expect(r.status).toBe(200);
      expect(h.seen.at(-1)?.engine).toBe('node');
      expect(h.front.handOffs).toBe(1);
      c.sock.destroy();
    });
  }

  it('hands over a keep-alive connection after requests it served, with a pipelined request intact', async () => {
    const h = await start();
    const c = await RawClient.open(h.port);
    c.send(post('{"n":1}'));
    expect(JSON.parse((await c.response()).body.toString())).toMatchObject({ engine: 'front' });
    c.send('POST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' + post('{"n":3}'));
    const a = JSON.parse((await c.response()).body.toString()) as Seen;
    const b = JSON.parse((await c.response()).body.toString()) as Seen;
    expect(a).toMatchObject({ engine: 'node', body: 'hello' });
    expect(b).toMatchObject({ engine: 'node', body: '{"n":3}' });
    c.sock.destroy();
  });

  const malformed: [string, string, number][] = [
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\n  folded\r\n\r\n', 400],
    ['a bare LF', 'GET / HTTP/1.1\r\nHost: gw\nX-A: 1\r\n\r\n', 400],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : gw\r\n\r\n', 400],
    ['Content-Length with a sign', 'POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: +5\r\n\r\nhello', 400],
    ['Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
    ['no Host header', 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', 400],
    ['a NUL byte in a value', 'GET / HTTP/1.1\r\nHost: gw\r\nX-A: a\0b\r\n\r\n', 400],
  ];
  for (const [what, raw, status] of malformed) {
    it(`${what}: refused by node:http (${status}), nothing reaches the handler`, async () => {
      const h = await start();
      const c = await RawClient.open(h.port);
      c.send(Buffer.from(raw, 'latin1'));
      const r = await c.response();
      expect(r.status).toBe(status);
      expect(h.seen).toHaveLength(0);
      c.sock.destroy();
    });
  }

  it('a head over 16 KiB goes to node:http, which answers 431', async () => {
    const h = await start();
    const c = await RawClient.open(h.port);
    c.send(`GET / HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(MAX_HEAD)}\r\n\r\n`);
    expect((await c.response()).status).toBe(431);
    expect(h.seen).toHaveLength(0);
    c.sock.destroy();
  });

  it('seeded random garbage never crashes the server and never reaches the handler as a request', async () => {
    const h = await start();
    const rnd = mulberry32(20261129);
    const alphabet = 'GETPOS /HTP1.\r\n:abc-0123456789\t\0\x7f\xff ';
    for (let i = 0; i < 60; i++) {
      const len = 1 + Math.floor(rnd() * 300);
      let s = i % 2 === 0 ? 'GET / HTTP/1.1\r\n' : '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      s += '\r\n\r\n';
      const c = await RawClient.open(h.port);
      c.send(Buffer.from(s, 'latin1'));
      const r = await Promise.race([c.response().catch(() => null), new Promise((res) => setTimeout(() => res('timeout'), 1000))]);
      if (r !== null && r !== 'timeout') expect([200, 400, 404, 414, 431]).toContain((r as { status: number }).status);
      c.sock.destroy();
    }
    // Still serving.
    const r = await request(`http://127.0.0.1:${h.port}/ok`);
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  });
});

describe('HTTP/1.1 front: slow and idle clients', () => {
  it('a head not finished within headersTimeout gets the timeout answer and the connection closes', async () => {
    const h = await start(echo, { headersTimeout: 300, requestTimeout: 1000 });
    const c = await RawClient.open(h.port);
    c.send('GET / HTTP/1.1\r\nHost: gw\r\n');
    const r = await c.response();
    expect(r.status).toBe(408);
    await c.waitClosed();
    expect(h.seen).toHaveLength(0);
  });

  it('a body not finished within requestTimeout fails the body read (the handler answers 408)', async () => {
    const h = await start(echo, { headersTimeout: 200, requestTimeout: 500 });
    const c = await RawClient.open(h.port);
    c.send('POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\nabc');
    const t0 = Date.now();
    const r = await c.response();
    expect(r.status).toBe(408);
    expect(r.body.toString()).toBe('RAMPART_ERR_GATEWAY_REQUEST_TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await c.waitClosed();
  });

  it('an idle keep-alive connection is closed after keepAliveTimeout', async () => {
    const h = await start(echo, { headersTimeout: 200, keepAliveTimeout: 400 });
    const c = await RawClient.open(h.port);
    c.send(post('{}'));
    await c.response();
    const t0 = Date.now();
    await c.waitClosed();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('a client that goes away while its body is arriving fails the body read', async () => {
    let failed: string | undefined;
    const done = new Promise<void>((resolve) => {
      void start((req) => {
        readBody(req, 1 << 20).catch((e: Error & { code?: string }) => {
          failed = e.code;
          resolve();
        });
      }).then(async (h) => {
        const c = await RawClient.open(h.port);
        c.send('POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\nabc');
        setTimeout(() => c.sock.destroy(), 50);
      });
    });
    await done;
    expect(failed).toBe('RAMPART_ERR_GATEWAY_CLIENT_CLOSED');
  });
});

/**
 * The subset as regular expressions (how the front first defined it): the single-pass scanner must
 * accept exactly the heads this accepts, with the same fields.
 */
function subsetByRegex(head: string): SubsetHead | null {
  if (/[^\t\r\n\x20-\x7e]/.test(head)) return null;
  const lines = head.split('\r\n');
  const rl = /^([A-Z]{1,20}) (\/[\x21-\x7e]*) HTTP\/1\.1$/.exec(lines[0]!);
  if (rl === null) return null;
  const headers = Object.create(null) as Record<string, string>;
  let contentLength = 0;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*(.*?)[\t ]*$/.exec(line);
    if (m === null || line.includes('\r') || line.includes('\n')) return null;
    const name = m[1]!.toLowerCase();
    if (name in headers) return null;
    const value = m[2]!;
    if (['transfer-encoding', 'expect', 'upgrade', 'http2-settings'].includes(name)) return null;
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return null;
      contentLength = Number(value);
    }
    if (name === 'connection') {
      for (const t of value.toLowerCase().split(',')) {
        const tok = t.trim();
        if (tok === 'close') close = true;
        else if (tok !== 'keep-alive') return null;
      }
    }
    headers[name] = value;
  }
  if (headers.host === undefined) return null;
  return { method: rl[1]!, target: rl[2]!, headers, contentLength, close };
}

describe('parseSubsetHead', () => {
  it('accepts exactly what the regular-expression definition of the subset accepts (seeded mutations)', () => {
    const rnd = mulberry32(1129);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const lines = [
      'Host: gw', 'host:gw:8443', 'Content-Length: 1024', 'content-length:  7 ', 'Content-Length: 0123456789012345',
      'Connection: keep-alive', 'Connection: close', 'connection: Keep-Alive, close', 'Connection: upgrade',
      'Authorization: Bearer rk_abc', 'X-Api-Key:\tk', 'Content-Type: application/json', 'Accept: */*',
      'Transfer-Encoding: chunked', 'Expect: 100-continue', 'X-Empty:', 'X-Trail: v \t', 'HOST: again',
    ];
    const starts = ['POST /v1/chat/completions HTTP/1.1', 'GET / HTTP/1.1', 'GET /v1/models?x=1 HTTP/1.1', 'PUT /a HTTP/1.0', 'get / HTTP/1.1', 'GET * HTTP/1.1', 'ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1'];
    const noise = ['\r', '\n', '\t', ' ', ':', '\0', '\x7f', '\xff', 'A', '/', ',', '0', '\r\n'];
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const parts = [pick(starts)];
      const count = Math.floor(rnd() * 6);
      for (let k = 0; k < count; k++) parts.push(pick(lines));
      if (rnd() < 0.85) parts.splice(1 + Math.floor(rnd() * parts.length), 0, 'Host: gw');
      let head = parts.join('\r\n');
      // Mutate some heads: insert, replace or delete a character at a random place.
      const edits = rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (head.length + 1));
        const r = rnd();
        if (r < 0.4) head = head.slice(0, at) + pick(noise) + head.slice(at);
        else if (r < 0.7) head = head.slice(0, at) + pick(noise) + head.slice(at + 1);
        else head = head.slice(0, at) + head.slice(at + 1);
      }
      const want = subsetByRegex(head);
      expect(parseSubsetHead(head), JSON.stringify(head)).toEqual(want);
      if (want !== null) accepted++;
    }
    // Both outcomes are exercised.
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(18000);
  });

  it('parses a typical API request head', () => {
    const h = parseSubsetHead('POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 42\r\nAuthorization: Bearer rk_x  \r\nConnection: close');
    expect(h).toEqual({
      method: 'POST',
      target: '/v1/chat/completions',
      headers: { host: 'gw', 'content-length': '42', authorization: 'Bearer rk_x', connection: 'close' },
      contentLength: 42,
      close: true,
    });
  });
});
