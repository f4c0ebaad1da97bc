// The upstream client over TLS, against a real node:https server with certificates from the dev PKI:
// pinned CA, an unknown CA, client certificates, SNI and ALPN, keep-alive reuse, and large bodies
// read slowly on several TLS sockets at once (the shared read buffer, with backpressure).
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki, type DevPki } from '../../tls/pki.js';
import { UpstreamUnavailableError } from '../errors.js';
import { upstreamError } from '../upstream.js';
import { createHttp1Pool, type Http1PoolOptions } from './client.js';
import { codeOf, httpServer, readAll, sendWithBackpressure, sleep, type HttpTestServer } from './testing/servers.js';

let pki: DevPki;
let other: DevPki;
let server: HttpTestServer;

beforeAll(async () => {
  pki = await createDevPki({ clients: ['gateway'] });
  other = await createDevPki();
  const https = createServer({
    cert: pki.server.certPem,
    key: pki.server.keyPem,
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  server = await httpServer((req, res) => {
    const s = req.socket as TLSSocket;
    const peer = s.getPeerCertificate();
    const big = /^\/big\/(\d+)$/.exec(req.url ?? '');
    if (big) {
      // 3 MB of bytes that depend on the request number and position, written with backpressure.
      const n = Number(big[1]);
      sendWithBackpressure(res, 3 * 1024 * 1024, 50_000, (off, len) => {
        const piece = Buffer.alloc(len);
        for (let k = 0; k < len; k++) piece[k] = (off + k + n * 7) & 0xff;
        return piece;
      });
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ cn: s.authorized ? peer.subject?.CN : null, sni: s.servername || null, alpn: s.alpnProtocol, version: s.getProtocol() }));
  }, https);
}, 30_000);

afterAll(async () => {
  await server.close();
});

async function ask(url: URL, opts: Http1PoolOptions): Promise<Record<string, unknown>> {
  const p = createHttp1Pool(url, opts);
  try {
    const r = await p.request({ method: 'GET', path: '/', headers: {} });
    return JSON.parse(r.complete!.toString()) as Record<string, unknown>;
  } finally {
    await p.destroy();
  }
}

describe('upstream client over TLS', () => {
  it('accepts the upstream certificate chaining to the pinned CA, over http/1.1 and TLS 1.2+', async () => {
    const got = await ask(server.url, { ca: pki.ca.certPem });
    expect(got).toMatchObject({ cn: null, alpn: 'http/1.1' });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(got.version);
    // An IP literal is never sent as SNI.
    expect(got.sni).toBeNull();
  });

  it('sends the host name as SNI', async () => {
    const url = new URL(server.url);
    url.hostname = 'localhost';
    expect(await ask(url, { ca: pki.ca.certPem })).toMatchObject({ sni: 'localhost' });
  });

  it('refuses an upstream whose certificate does not chain to the pinned CA, as a 502', async () => {
    const p = createHttp1Pool(server.url, { ca: other.ca.certPem });
    try {
      const err = await p.request({ method: 'GET', path: '/', headers: {} }).then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      expect(err).not.toBeNull();
      expect(err!.code).toMatch(/CERT|SIGNATURE|ISSUER/);
      expect(upstreamError(err, 'm')).toBeInstanceOf(UpstreamUnavailableError);
    } finally {
      await p.destroy();
    }
  });

  it('refuses the upstream without a CA (the dev CA is not a system root)', async () => {
    const p = createHttp1Pool(server.url, {});
    try {
      expect(await codeOf(p.request({ method: 'GET', path: '/', headers: {} }))).toMatch(/CERT|SIGNATURE|ISSUER/);
    } finally {
      await p.destroy();
    }
  });

  it('presents the client certificate', async () => {
    expect(await ask(server.url, { ca: pki.ca.certPem, cert: pki.clients.gateway!.certPem, key: pki.clients.gateway!.keyPem })).toMatchObject({ cn: 'gateway' });
  });

  it('reuses one TLS connection for sequential requests', async () => {
    const before = server.connections;
    const p = createHttp1Pool(server.url, { ca: pki.ca.certPem });
    try {
      for (let i = 0; i < 20; i++) expect((await p.request({ method: 'GET', path: '/', headers: {} })).statusCode).toBe(200);
      expect(server.connections - before).toBe(1);
    } finally {
      await p.destroy();
    }
  });

  it('delivers large bodies intact on several sockets at once, read slowly, with backpressure', async () => {
    const p = createHttp1Pool(server.url, { ca: pki.ca.certPem, connections: 4 });
    try {
      const rs = await Promise.all([0, 1, 2, 3].map((n) => p.request({ method: 'GET', path: `/big/${n}`, headers: {} })));
      // Nobody reads for a while: each socket must stop reading rather than buffer 3 MB.
      await sleep(200);
      for (const r of rs) expect(r.body.readableLength).toBeLessThan(1024 * 1024);
      const bodies = await Promise.all(rs.map((r) => readAll(r.body)));
      bodies.forEach((b, n) => {
        expect(b.length).toBe(3 * 1024 * 1024);
        let bad = -1;
        for (let k = 0; k < b.length && bad < 0; k++) if (b[k] !== ((k + n * 7) & 0xff)) bad = k;
        expect(bad).toBe(-1);
      });
    } finally {
      await p.destroy();
    }
  });
});
