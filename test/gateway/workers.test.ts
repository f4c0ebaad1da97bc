// server.workers > 1: a primary and two worker processes behind one listener. Quotas hold for the
// whole gateway, not per worker (requests per minute and concurrency, with connections spread over
// both workers), every request leaves one audit record in one chain that verifies, and /metrics
// counts the requests of all workers. Runs the built library (dist/) in a child process, because
// the workers re-run the main module; skipped when dist has not been built.
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { verifyAudit } from '../../src/audit/index.js';
import { createApiKey } from '../../src/auth/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki } from '../../src/tls/pki.js';
import { openStore } from '../../src/store/index.js';
import { startChild, startUpstream, tempDir, type TestUpstream } from './helpers.js';

const dist = new URL('../../dist/', import.meta.url);
const built = existsSync(new URL('gateway/cluster.js', dist));

const CHILD = `
import { loadConfig } from ${JSON.stringify(new URL('config/load.js', dist).href)};
import { runGateway } from ${JSON.stringify(new URL('gateway/cluster.js', dist).href)};
import { silentLogger } from ${JSON.stringify(new URL('core/logger.js', dist).href)};
const { config } = loadConfig(process.argv[2]);
const gw = await runGateway(config, { logger: silentLogger() });
process.stdout.write(gw.url + '\\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
`;

let tmp: ReturnType<typeof tempDir>;
let upstream: TestUpstream;
let child: ChildProcess;
let url = '';
let key = '';
let agent: Agent;
let db = '';

beforeAll(async () => {
  if (!built) return;
  tmp = tempDir('rampart-gw-workers-');
  upstream = await startUpstream();
  const pki = await createDevPki({ hosts: ['localhost', '127.0.0.1'] });
  writeFileSync(join(tmp.dir, 'ca.pem'), pki.ca.certPem);
  writeFileSync(join(tmp.dir, 'server.pem'), pki.server.certPem);
  writeFileSync(join(tmp.dir, 'server-key.pem'), pki.server.keyPem);
  writeFileSync(join(tmp.dir, 'p.cedar'), '@id("all") permit (principal, action, resource);\n');
  db = join(tmp.dir, 'rampart.db');
  const config = {
    server: { listen: '127.0.0.1:0', tls: { cert: join(tmp.dir, 'server.pem'), key: join(tmp.dir, 'server-key.pem') }, workers: 2 },
    store: { type: 'sqlite', path: db },
    policy: { files: [join(tmp.dir, 'p.cedar')] },
    quotas: { principals: { limited: { requestsPerMinute: 10 }, narrow: { concurrent: 2 } } },
    audit: { flushEvery: 8 },
    observability: { logLevel: 'warn' },
    models: [
      { name: 'chat', protocol: 'openai', upstream: { url: upstream.url } },
      { name: 'slow', protocol: 'openai', upstream: { url: upstream.url, timeout: '10s' } },
    ],
  };
  writeFileSync(join(tmp.dir, 'rampart.json'), JSON.stringify(config));
  writeFileSync(join(tmp.dir, 'child.mjs'), CHILD);
  const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
  key = (await createApiKey(store.keys, { principal: 'limited', roles: [] })).key;
  const narrowKey = (await createApiKey(store.keys, { principal: 'narrow', roles: [] })).key;
  writeFileSync(join(tmp.dir, 'narrow.key'), narrowKey);
  await store.close();
  const started = startChild(tmp.dir, join(tmp.dir, 'rampart.json'));
  child = started.child;
  url = await started.line;
  agent = new Agent({ connect: { ca: pki.ca.certPem }, connections: 64 });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await agent?.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function chat(apiKey: string, model: string): Promise<number> {
  // reset: a new connection per request, so the primary spreads them over both workers.
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    reset: true,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.dump();
  return r.statusCode;
}

describe.runIf(built)('gateway with server.workers: 2', () => {
  it('enforces one requests-per-minute bucket across both workers', async () => {
    const statuses = await Promise.all(Array.from({ length: 24 }, () => chat(key, 'chat')));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(14);
  });

  it('enforces one concurrency limit across both workers', async () => {
    const { readFileSync } = await import('node:fs');
    const narrow = readFileSync(join(tmp.dir, 'narrow.key'), 'utf8');
    // The upstream holds `slow` for 1.5 s: all six are in flight together.
    const statuses = await Promise.all(Array.from({ length: 6 }, () => chat(narrow, 'slow')));
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    // The slots come back when the requests end.
    expect(await chat(narrow, 'chat')).toBe(200);
  });

  it('serves /metrics summed over the workers, and leaves one verifiable chain with every request', async () => {
    const m = await request(`${url}/metrics`, { dispatcher: agent });
    const text = await m.body.text();
    let total = 0;
    for (const x of text.matchAll(/^rampart_gateway_requests_total\{[^}]*route="openai\.chat\.completions"[^}]*\} (\S+)$/gm)) total += Number(x[1]);
    expect(total).toBe(24 + 6 + 1);
    // Graceful stop: workers drain and flush their records to the primary, which writes and checkpoints them.
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
    try {
      const v = await verifyAudit(store.audit);
      expect(v.ok).toBe(true);
      // Every chat request (the /metrics read is not protected, so not audited).
      expect(v.checked).toBe(24 + 6 + 1);
    } finally {
      await store.close();
    }
  }, 30_000);
});
