// TLS and mTLS end to end: real handshakes against certificates made in code, protocol version
// limits, client-certificate refusal, and certificate reload without dropping an open connection.
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki, type DevPki } from '../../src/tls/pki.js';
import { makeConfig, startUpstream, tempDir, testDeps, writeFiles, type TestUpstream } from './helpers.js';
import { parseConfig } from '../../src/config/load.js';

let upstream: TestUpstream;
let pki: DevPki;
let other: DevPki;
let tmp: ReturnType<typeof tempDir>;
let files: Record<string, string>;

beforeAll(async () => {
  upstream = await startUpstream();
  [pki, other] = await Promise.all([createDevPki({ clients: ['svc-a'] }), createDevPki({ clients: ['intruder'] })]);
  tmp = tempDir();
  files = writeFiles(tmp.dir, {
    'ca.pem': pki.ca.certPem,
    'server.pem': pki.server.certPem,
    'server-key.pem': pki.server.keyPem,
  });
});

afterAll(async () => {
  await upstream?.close();
  tmp?.cleanup();
});

function tlsConfig(tls: Record<string, unknown>) {
  return makeConfig(upstream.url, {
    server: { listen: '127.0.0.1:0', tls: { cert: files['server.pem']!, key: files['server-key.pem']!, reloadInterval: '100ms', ...tls } },
  });
}

function open(url: string, opts: ConnectionOptions = {}): Promise<TLSSocket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), servername: 'localhost', ca: pki.ca.certPem, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends one HTTP/1.1 request on an open socket and resolves with the raw response. */
function exchange(s: TLSSocket, path: string, headers = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (d: Buffer): void => {
      data += d.toString();
      const m = /content-length: (\d+)/i.exec(data);
      const end = data.indexOf('\r\n\r\n');
      if (m && end >= 0 && data.length - end - 4 >= Number(m[1])) {
        s.off('data', onData);
        resolve(data);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', () => reject(Object.assign(new Error('closed'), { code: 'CLOSED' })));
    s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
  });
}

describe('TLS listener', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await createGateway(tlsConfig({}), testDeps(), { logger: silentLogger(), processMetrics: false });
  });
  afterAll(() => gw?.close());

  it('serves HTTPS with TLS 1.3 preferred and 1.2 still accepted', async () => {
    expect(gw.url).toMatch(/^https:/);
    const s13 = await open(gw.url);
    expect(s13.getProtocol()).toBe('TLSv1.3');
    expect(s13.authorized).toBe(true);
    expect(await exchange(s13, '/healthz')).toMatch(/^HTTP\/1.1 200/);
    s13.destroy();
    const s12 = await open(gw.url, { maxVersion: 'TLSv1.2' });
    expect(s12.getProtocol()).toBe('TLSv1.2');
    s12.destroy();
  });

  it('refuses TLS 1.1 and clients that do not trust the CA', async () => {
    await expect(open(gw.url, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow();
    await expect(open(gw.url, { ca: other.ca.certPem })).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) });
  });

  it('proxies an API call end to end over TLS', async () => {
    const dispatcher = new Agent({ connect: { ca: pki.ca.certPem } });
    try {
      const r = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher,
        headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [] }),
      });
      expect(r.statusCode).toBe(200);
      expect(((await r.body.json()) as { model: string }).model).toBe('upstream-chat');
      expect(upstream.seen[upstream.seen.length - 1]!.headers['x-forwarded-proto']).toBe('https');
    } finally {
      await dispatcher.close();
    }
  });
});

describe('mTLS', () => {
  it('with requireClientCert, refuses a client without a certificate or with one from another CA', async () => {
    const caFile = files['ca.pem']!;
    const deps = testDeps();
    const gw = await createGateway(tlsConfig({ clientCa: caFile, requireClientCert: true }), deps, { logger: silentLogger(), processMetrics: false });
    try {
      // In TLS 1.3 the client finishes its side first; the refusal arrives as an alert on first use.
      const attempt = async (opts: ConnectionOptions) => {
        try {
          const s = await open(gw.url, opts);
          return await exchange(s, '/healthz').then(
            (r) => r,
            (e: NodeJS.ErrnoException) => `refused:${e.code}`,
          );
        } catch (e) {
          return `refused:${(e as NodeJS.ErrnoException).code}`;
        }
      };
      expect(await attempt({})).toMatch(/^refused:/);
      expect(await attempt({ cert: other.clients.intruder!.certPem, key: other.clients.intruder!.keyPem })).toMatch(/^refused:/);
      const s = await open(gw.url, { cert: pki.clients['svc-a']!.certPem, key: pki.clients['svc-a']!.keyPem });
      const body = JSON.stringify({ model: 'chat', messages: [] });
      const res = await new Promise<string>((resolve) => {
        let data = '';
        s.on('data', (d: Buffer) => {
          data += d.toString();
          if (data.includes('Hello!')) resolve(data);
        });
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      });
      s.destroy();
      expect(res).toMatch(/^HTTP\/1.1 200/);
      // The certificate reached the authenticator, which mapped its CN to the principal.
      expect(deps.authenticator.seen.at(-1)!.cn).toBe('svc-a');
      const rec = (await deps.audit.waitFor(1)).at(-1)!;
      expect(rec).toMatchObject({ principal: 'svc-a', authMethod: 'mtls', status: 200 });
    } finally {
      await gw.close();
    }
  });

  it('with optional client certificates, a client without one falls back to other credentials', async () => {
    const gw = await createGateway(tlsConfig({ clientCa: files['ca.pem']!, requireClientCert: false }), testDeps(), { logger: silentLogger(), processMetrics: false });
    try {
      const s = await open(gw.url);
      expect(await exchange(s, '/v1/models')).toMatch(/^HTTP\/1.1 401/);
      expect(await exchange(s, '/v1/models', 'authorization: Bearer key-alice\r\n')).toMatch(/^HTTP\/1.1 200/);
      s.destroy();
      // A certificate from an unknown CA identifies nobody (it is not passed to the authenticator).
      const s2 = await open(gw.url, { cert: other.clients.intruder!.certPem, key: other.clients.intruder!.keyPem });
      expect(await exchange(s2, '/v1/models')).toMatch(/^HTTP\/1.1 401/);
      s2.destroy();
    } finally {
      await gw.close();
    }
  });
});

describe('certificate reload', () => {
  it('picks up a new certificate for new connections without dropping an open one', async () => {
    const t = tempDir();
    const f = writeFiles(t.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
    const cfg = makeConfig(upstream.url, { server: { listen: '127.0.0.1:0', tls: { cert: f['server.pem']!, key: f['server-key.pem']!, reloadInterval: '50ms' } } });
    const gw = await createGateway(cfg, testDeps(), { logger: silentLogger(), processMetrics: false });
    try {
      const kept = await open(gw.url);
      const oldFp = kept.getPeerCertificate().fingerprint256;
      expect(await exchange(kept, '/healthz')).toMatch(/^HTTP\/1.1 200/);

      // A half-finished rotation (new cert, old key) is refused and the old certificate stays.
      writeFiles(t.dir, { 'server.pem': other.server.certPem });
      await waitForMetric(gw, 'rampart_gateway_cert_reloads_total{result="error"}');
      const during = await open(gw.url);
      expect(during.getPeerCertificate().fingerprint256).toBe(oldFp);
      during.destroy();

      writeFiles(t.dir, { 'server-key.pem': other.server.keyPem });
      await waitForMetric(gw, 'rampart_gateway_cert_reloads_total{result="ok"}');
      const fresh = await open(gw.url, { ca: other.ca.certPem });
      expect(fresh.getPeerCertificate().fingerprint256).not.toBe(oldFp);
      fresh.destroy();
      // The connection opened before the reload still works.
      expect(kept.destroyed).toBe(false);
      expect(await exchange(kept, '/healthz')).toMatch(/^HTTP\/1.1 200/);
      kept.destroy();
    } finally {
      await gw.close();
      t.cleanup();
    }
  });
});

async function waitForMetric(gw: RunningGateway, series: string): Promise<void> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const text = await gw.metrics.registry.metrics();
    if (text.includes(`${series} 1`) || new RegExp(`${series.replace(/[{}"=]/g, '\\$&')} [1-9]`).test(text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`metric ${series} never reached 1`);
}

describe('HTTPS upstreams', () => {
  it('pins the upstream CA and presents a client certificate; a wrong pin is a 502', async () => {
    const upstreamPki = await createDevPki({ clients: ['gateway'] });
    const seenCn: string[] = [];
    const server = createHttpsServer(
      { cert: upstreamPki.server.certPem, key: upstreamPki.server.keyPem, ca: upstreamPki.ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        seenCn.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"object":"list","data":[],"usage":{"prompt_tokens":1,"total_tokens":1}}');
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const t = tempDir();
    const f = writeFiles(t.dir, {
      'up-ca.pem': upstreamPki.ca.certPem,
      'wrong-ca.pem': other.ca.certPem,
      'gw-client.pem': upstreamPki.clients.gateway!.certPem,
      'gw-client-key.pem': upstreamPki.clients.gateway!.keyPem,
    });
    const url = `https://localhost:${(server.address() as AddressInfo).port}`;
    const cfg = parseConfig(
      {
        server: { listen: '127.0.0.1:0', allowPlainHttp: true },
        policy: { files: ['x.cedar'] },
        observability: { logLevel: 'silent' },
        models: [
          { name: 'pinned', protocol: 'openai', upstream: { url, ca: f['up-ca.pem'], cert: f['gw-client.pem'], key: f['gw-client-key.pem'] } },
          { name: 'wrong-pin', protocol: 'openai', upstream: { url, ca: f['wrong-ca.pem'], cert: f['gw-client.pem'], key: f['gw-client-key.pem'] } },
          { name: 'no-client-cert', protocol: 'openai', upstream: { url, ca: f['up-ca.pem'] } },
        ],
      },
      t.dir,
    );
    const gw = await createGateway(cfg, testDeps(), { logger: silentLogger(), processMetrics: false });
    try {
      const call = async (model: string) => {
        const r = await request(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { authorization: 'Bearer key-alice' }, body: JSON.stringify({ model, input: 'x' }) });
        const j = (await r.body.json()) as { error?: { code: string } };
        return { status: r.statusCode, code: j.error?.code };
      };
      expect(await call('pinned')).toEqual({ status: 200, code: undefined });
      expect(seenCn).toEqual(['gateway']);
      expect(await call('wrong-pin')).toEqual({ status: 502, code: 'RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE' });
      expect((await call('no-client-cert')).status).toBe(502);
    } finally {
      await gw.close();
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      t.cleanup();
    }
  });
});
