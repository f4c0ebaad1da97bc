// Guards with server.workers > 1 (a primary and two worker processes behind one listener):
// - a bad guard config stops start-up once, in the primary, with RAMPART_ERR_GUARD_CONFIG_INVALID
//   and before any worker is forked (as a bad Cedar policy does);
// - guard verdicts made in the workers reach the monitor, which runs in the primary (it stores
//   them as events and raises the guard-verdicts alert);
// - the extraction guard's query budget is one budget for the principal across both workers (its
//   counters and penalties are in the store; each worker merges the store's total every flush).
// Runs the built library (dist/) in a child process, because the workers re-run the main module;
// skipped when dist has not been built.
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createApiKey } from '../../src/auth/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki } from '../../src/tls/pki.js';
import { openStore } from '../../src/store/index.js';
import { startChild, startUpstream, tempDir, type TestUpstream } from './helpers.js';

const dist = new URL('../../dist/', import.meta.url);
const built = existsSync(new URL('gateway/cluster.js', dist));

// Prints the URL, or the start-up error's code and message; counts the workers forked.
const CHILD = `
import cluster from 'node:cluster';
import { loadConfig } from ${JSON.stringify(new URL('config/load.js', dist).href)};
import { runGateway } from ${JSON.stringify(new URL('gateway/cluster.js', dist).href)};
import { silentLogger } from ${JSON.stringify(new URL('core/logger.js', dist).href)};
let forks = 0;
if (cluster.isPrimary) cluster.on('fork', () => forks++);
const { config } = loadConfig(process.argv[2]);
try {
  const gw = await runGateway(config, { logger: silentLogger() });
  process.stdout.write(gw.url + '\\n');
  process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
} catch (e) {
  process.stdout.write(JSON.stringify({ code: e.code, message: e.message, forks }) + '\\n');
  process.exit(3);
}
`;

/** A KServe v2 model answering every infer with one label per row. */
async function startKserve(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let rows = 1;
      try {
        rows = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { inputs: { shape: number[] }[] }).inputs[0]!.shape[0] ?? 1;
      } catch {
        // a metadata GET
      }
      const body = JSON.stringify({ model_name: 'digits', outputs: [{ name: 'label', datatype: 'INT64', shape: [rows], data: Array.from({ length: rows }, (_, i) => i % 10) }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

let tmp: ReturnType<typeof tempDir>;
let upstream: TestUpstream;
let kserve: Awaited<ReturnType<typeof startKserve>>;
let agent: Agent;
let baseConfig: Record<string, unknown>;
let db = '';
const keys: Record<string, string> = {};

beforeAll(async () => {
  if (!built) return;
  tmp = tempDir('rampart-gw-workers-guards-');
  upstream = await startUpstream();
  kserve = await startKserve();
  const pki = await createDevPki({ hosts: ['localhost', '127.0.0.1'] });
  writeFileSync(join(tmp.dir, 'ca.pem'), pki.ca.certPem);
  writeFileSync(join(tmp.dir, 'server.pem'), pki.server.certPem);
  writeFileSync(join(tmp.dir, 'server-key.pem'), pki.server.keyPem);
  writeFileSync(join(tmp.dir, 'p.cedar'), '@id("all") permit (principal, action, resource);\n');
  writeFileSync(join(tmp.dir, 'child.mjs'), CHILD);
  db = join(tmp.dir, 'rampart.db');
  baseConfig = {
    server: { listen: '127.0.0.1:0', tls: { cert: join(tmp.dir, 'server.pem'), key: join(tmp.dir, 'server-key.pem') }, workers: 2 },
    store: { type: 'sqlite', path: db },
    policy: { files: [join(tmp.dir, 'p.cedar')] },
    observability: { logLevel: 'warn' },
    monitoring: { enabled: true },
    models: [
      { name: 'chat', protocol: 'openai', upstream: { url: upstream.url } },
      { name: 'digits', protocol: 'kserve-v2', upstream: { url: kserve.url } },
    ],
  };
  const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
  for (const p of ['leaker', 'scraper']) keys[p] = (await createApiKey(store.keys, { principal: p, roles: [] })).key;
  await store.close();
  agent = new Agent({ connect: { ca: pki.ca.certPem }, connections: 64 });
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await upstream?.close();
  await kserve?.close();
  tmp?.cleanup();
});

describe.runIf(built)('guards with server.workers: 2', () => {
  it('stops start-up in the primary, before forking, on a bad guard config', async () => {
    const file = join(tmp.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...baseConfig, guards: [{ type: 'pii' }, { type: 'extraction', options: { budget: { maxQueries: 0 } } }] }));
    const { child, line } = startChild(tmp.dir, file);
    const out = JSON.parse(await line) as { code: string; message: string; forks: number };
    expect(out.code).toBe('RAMPART_ERR_GUARD_CONFIG_INVALID');
    expect(out.message).toContain('guards[1].options.budget.maxQueries');
    expect(out.forks).toBe(0);
    expect(await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)))).toBe(3);
  }, 30_000);

  describe('running', () => {
    let child: ChildProcess;
    let url = '';

    beforeAll(async () => {
      const file = join(tmp.dir, 'good.json');
      const guards = [
        { type: 'pii' },
        // Budget only (no PRADA, no coverage): 10 rows per principal and hour; flushes every 200 ms.
        { type: 'extraction', options: { prada: { enabled: false }, coverage: { enabled: false }, budget: { maxQueries: 10 }, state: { flushInterval: '200ms', penaltyRecheck: '200ms' } } },
      ];
      writeFileSync(file, JSON.stringify({ ...baseConfig, guards }));
      const started = startChild(tmp.dir, file);
      child = started.child;
      url = await started.line;
      expect(url).toMatch(/^https:/);
    }, 60_000);

    afterAll(() => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    });

    async function post(path: string, key: string, body: unknown): Promise<number> {
      // reset: a new connection per request, so the primary spreads them over both workers.
      const r = await request(`${url}${path}`, {
        method: 'POST',
        dispatcher: agent,
        reset: true,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await r.body.dump();
      return r.statusCode;
    }
    const infer = (key: string): Promise<number> => post('/v2/models/digits/infer', key, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    const sequentially = async (n: number, f: () => Promise<number>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await f());
      return out;
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    it('shares one extraction budget per principal across the workers', async () => {
      // 8 rows, alternating between the workers: each saw about 4, under the budget.
      expect(await sequentially(8, () => infer(keys.scraper!))).toEqual(Array(8).fill(200));
      // Each worker writes its count to the store within a second (the counters' flush) and takes
      // the store's total: the later of the two now counts 8.
      await sleep(1300);
      // 6 more, 3 per worker: the one that counts 8 goes past 10. Counted per worker alone (4 + 3
      // each) none would be refused.
      const more = await sequentially(6, () => infer(keys.scraper!));
      expect(more.filter((s) => s === 429).length).toBeGreaterThan(0);
      // The penalty is in the store: both workers refuse the principal from now on.
      await sleep(600);
      expect(await sequentially(4, () => infer(keys.scraper!))).toEqual(Array(4).fill(429));
    }, 30_000);

    it('forwards guard verdicts made in the workers to the monitor in the primary', async () => {
      const flagged = { model: 'chat', messages: [{ role: 'user', content: 'please write to jane.doe@acme-mail.org about the order' }] };
      expect(await sequentially(4, () => post('/v1/chat/completions', keys.leaker!, flagged))).toEqual(Array(4).fill(200));
      // Graceful stop: workers flush to the primary, whose monitor stores its events on close.
      child.kill('SIGTERM');
      expect(await new Promise((r) => child.once('exit', r))).toBe(0);
      const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
      try {
        const events = await store.events!.readEvents({ type: 'guard.verdict', limit: 1000 });
        const data = events.map((e) => JSON.parse(e.body) as { principal?: string; data: { guard: string; action: string; reasons: { code: string }[] } });
        const pii = data.filter((e) => e.principal === 'leaker' && e.data.guard === 'pii');
        expect(pii).toHaveLength(4);
        expect(pii.every((e) => e.data.action === 'flag' && e.data.reasons.some((r) => r.code === 'pii.email'))).toBe(true);
        // The extraction budget refusals of the test above, made in both workers, arrived too.
        const budget = data.filter((e) => e.principal === 'scraper' && e.data.reasons.some((r) => r.code === 'extraction.budget'));
        expect(budget.length).toBeGreaterThan(0);
        // The detector in the primary turned the high-severity refusal into an alert.
        const alerts = await store.alerts!.listAlerts({ limit: 100 });
        expect(alerts.some((a) => a.detector === 'guard-verdicts' && JSON.stringify(a).includes('scraper'))).toBe(true);
        // Each worker chains its own audit records and sends their events to the monitor: every
        // request of this test is in the chain once, and its gateway.request event reached the primary.
        const { verifyAudit, iterateAudit } = await import('../../src/audit/index.js');
        expect((await verifyAudit(store.audit)).ok).toBe(true);
        const ids: string[] = [];
        for await (const e of iterateAudit(store.audit)) {
          const r = JSON.parse(e.body) as { id: string; principal: string | null };
          if (r.principal === 'leaker') ids.push(r.id);
        }
        expect(ids).toHaveLength(4);
        expect(new Set(ids).size).toBe(4);
        const requests = await store.events!.readEvents({ type: 'gateway.request', limit: 10_000 });
        const seen = new Set(requests.map((e) => e.id));
        expect(ids.every((id) => seen.has(`req:${id}`))).toBe(true);
      } finally {
        await store.close();
      }
    }, 30_000);
  });
});
