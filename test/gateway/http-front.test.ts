// The gateway's HTTP/1.1 front over real TLS: requests in the subset are served by the front, the
// rest (chunked uploads, Expect: 100-continue) by node:http after the hand-off, on the same
// keep-alive connection; smuggling-shaped requests never reach the upstream; server.httpFront: node
// serves everything with node:http.
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki, type DevPki } from '../../src/tls/pki.js';
import { makeConfig, startUpstream, tempDir, testDeps, writeFiles, type TestDeps, type TestUpstream } from './helpers.js';

let upstream: TestUpstream;
let pki: DevPki;
let tmp: ReturnType<typeof tempDir>;
let files: Record<string, string>;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  pki = await createDevPki({ clients: [] });
  tmp = tempDir();
  files = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function start(front: 'rampart' | 'node' = 'rampart'): Promise<{ gw: RunningGateway; deps: TestDeps }> {
  const deps = testDeps({ rules: ['analyst:*:*'] });
  const cfg = makeConfig(upstream.url, { server: { listen: '127.0.0.1:0', httpFront: front, tls: { cert: files['server.pem']!, key: files['server-key.pem']! } } });
  const gw = await createGateway(cfg, deps, { logger: silentLogger(), processMetrics: false });
  gateways.push(gw);
  return { gw, deps };
}

/** A raw TLS connection that reads HTTP/1.1 responses framed by Content-Length or chunks. */
class Conn {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly s: TLSSocket) {
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    s.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    s.on('error', () => undefined);
  }
  static open(url: string): Promise<Conn> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: u.hostname, port: Number(u.port), servername: 'localhost', ca: pki.ca.certPem }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  private async more(): Promise<void> {
    if (this.closed) throw new Error('closed');
    await new Promise<void>((r) => this.waiters.push(r));
  }
  async response(): Promise<{ status: number; head: string; body: string }> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more();
    const head = this.buf.slice(0, end);
    this.buf = this.buf.slice(end + 4);
    const status = Number(head.split(' ')[1]);
    if (status < 200) return { status, head, body: '' };
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (cl) {
      const n = Number(cl[1]);
      while (this.buf.length < n) await this.more();
      const body = this.buf.slice(0, n);
      this.buf = this.buf.slice(n);
      return { status, head, body };
    }
    let body = '';
    for (;;) {
      let nl: number;
      while ((nl = this.buf.indexOf('\r\n')) < 0) await this.more();
      const size = parseInt(this.buf.slice(0, nl), 16);
      while (this.buf.length < nl + 2 + size + 2) await this.more();
      body += this.buf.slice(nl + 2, nl + 2 + size);
      this.buf = this.buf.slice(nl + 2 + size + 2);
      if (size === 0) return { status, head, body };
    }
  }
}

const chat = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
const simple = (body = chat): string => `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer key-alice\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const chunked = (body = chat): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer key-alice\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;

describe('gateway HTTP/1.1 front over TLS', () => {
  it('serves simple requests, then a chunked upload through node:http, then more, on one connection', async () => {
    const { gw, deps } = await start();
    const c = await Conn.open(gw.url);
    const before = upstream.seen.length;
    c.s.write(simple());
    expect((await c.response()).status).toBe(200);
    c.s.write(chunked());
    const r2 = await c.response();
    expect(r2.status).toBe(200);
    expect(JSON.parse(r2.body).choices[0].message.content).toBe('Hello!');
    c.s.write(simple() + simple());
    expect((await c.response()).status).toBe(200);
    expect((await c.response()).status).toBe(200);
    expect(upstream.seen.length - before).toBe(4);
    await deps.audit.waitFor(4);
    expect(deps.audit.records.slice(-4).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    c.s.destroy();
  });

  it('answers Expect: 100-continue (node:http) and then the request', async () => {
    const { gw } = await start();
    const c = await Conn.open(gw.url);
    c.s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer key-alice\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${chat.length}\r\n\r\n`);
    expect((await c.response()).status).toBe(100);
    c.s.write(chat);
    expect((await c.response()).status).toBe(200);
    c.s.destroy();
  });

  it('refuses Content-Length with Transfer-Encoding (400) without calling the upstream', async () => {
    const { gw, deps } = await start();
    const c = await Conn.open(gw.url);
    const before = upstream.seen.length;
    c.s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer key-alice\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${simple()}`);
    const r = await c.response();
    expect(r.status).toBe(400);
    expect(r.body).toContain('RAMPART_ERR_GATEWAY_BAD_REQUEST');
    await new Promise((res) => setTimeout(res, 100));
    expect(upstream.seen.length).toBe(before);
    expect(deps.audit.records).toHaveLength(0);
  });

  it('with server.httpFront: node, node:http serves every request', async () => {
    const { gw, deps } = await start('node');
    const c = await Conn.open(gw.url);
    c.s.write(simple());
    const r = await c.response();
    expect(r.status).toBe(200);
    // node:http's own framing of the same answer (it writes its header names capitalised).
    expect(r.head).toMatch(/\r\nConnection: keep-alive\r\n/);
    c.s.write(chunked());
    expect((await c.response()).status).toBe(200);
    await deps.audit.waitFor(2);
    c.s.destroy();
  });
});
