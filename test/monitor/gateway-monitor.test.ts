// Real traffic through the gateway (SQLite store, API keys, Cedar policy, audit) with monitoring on:
// benign requests raise nothing; a credential-stuffing burst and a privilege-probing burst each
// raise their alert; a webhook receiver that checks the HMAC gets each alert exactly once although
// it is down while they fire and the gateway restarts before it comes back.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import type { AlertNotification } from '../../src/monitor/alerts.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startUpstream, tempDir, type TestUpstream } from '../gateway/helpers.js';

const SECRET = 'gw-monitor-secret-93b2';
process.env.RAMPART_TEST_GW_HOOK_SECRET = SECRET;

let upstream: TestUpstream;
let tmp: ReturnType<typeof tempDir>;
let hook: Server;
let hookUrl = '';
let hookDown = true;
const received = new Map<string, number>();
const deliveries = new Set<string>();
let badSig = 0;
const keys: Record<string, string> = {};

beforeAll(async () => {
  tmp = tempDir('rampart-gwmon-');
  upstream = await startUpstream();
  writeFileSync(
    join(tmp.dir, 'policy.cedar'),
    `@id("users-chat")\npermit (principal in Rampart::Role::"user", action == Rampart::Action::"invoke", resource) when { resource.name == "chat" };\n` +
      `@id("ops-admin")\npermit (principal in Rampart::Role::"ops", action == Rampart::Action::"admin", resource == Rampart::Gateway::"gateway");\n`,
  );
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hookDown) return void res.writeHead(503).end();
      const body = Buffer.concat(chunks).toString('utf8');
      const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${String(req.headers['x-rampart-timestamp'])}.${body}`).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-rampart-signature'] ?? ''));
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        badSig++;
        return void res.writeHead(401).end();
      }
      const id = String(req.headers['x-rampart-delivery']);
      if (!deliveries.has(id)) {
        deliveries.add(id);
        const n = JSON.parse(body) as AlertNotification;
        received.set(n.alert.id, (received.get(n.alert.id) ?? 0) + 1);
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  const store = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
  keys.alice = (await createApiKey(store.keys, { principal: 'alice', roles: ['user'] })).key;
  keys.bob = (await createApiKey(store.keys, { principal: 'bob', roles: ['user'] })).key;
  keys.olga = (await createApiKey(store.keys, { principal: 'olga', roles: ['ops'] })).key;
  await store.close();
});

afterAll(async () => {
  await upstream.close();
  await new Promise<void>((r) => hook.close(() => r()));
  tmp.cleanup();
});

function config() {
  return parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true },
      store: { type: 'sqlite', path: 'rampart.db' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [
        { name: 'chat', protocol: 'openai', upstream: { url: upstream.url } },
        { name: 'digits', protocol: 'kserve-v2', upstream: { url: upstream.url } },
      ],
      monitoring: {
        enabled: true,
        detectors: { authFailureBurst: { threshold: 12 }, authzDenyBurst: { threshold: 6 } },
        delivery: { initialBackoff: 20, maxBackoff: 200, pollInterval: 25 },
        sinks: [{ type: 'webhook', name: 'hook', url: hookUrl, secretEnv: 'RAMPART_TEST_GW_HOOK_SECRET' }],
      },
    },
    tmp.dir,
    'test',
  );
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function chat(gw: RunningGateway, key: string, model = 'chat'): Promise<number> {
  const path = model === 'chat' ? '/v1/chat/completions' : `/v2/models/${model}/infer`;
  const body = model === 'chat' ? { model, messages: [{ role: 'user', content: 'hi' }] } : { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] };
  const r = await request(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.body.dump();
  return r.statusCode;
}

async function alertsInStore() {
  const s = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
  try {
    return await s.alerts.listAlerts({ limit: 50 });
  } finally {
    await s.close();
  }
}

describe('monitoring through the gateway', () => {
  it('stays quiet on benign traffic, fires on stuffing and probing, delivers each alert once across an outage and a restart', async () => {
    let gw = await startGateway(config(), { logger: silentLogger(), processMetrics: false });
    for (let i = 0; i < 12; i++) expect(await chat(gw, i % 2 ? keys.alice! : keys.bob!)).toBe(200);
    // A couple of typos and one denied request are normal.
    expect(await chat(gw, 'rk_nope.nope')).toBe(401);
    expect(await chat(gw, keys.bob!, 'digits')).toBe(403);
    await new Promise((r) => setTimeout(r, 300));
    expect(await alertsInStore()).toEqual([]);

    // Incidents: credential stuffing from one address; bob probing a model he may not use.
    for (let i = 0; i < 15; i++) expect(await chat(gw, `rk_guess${i}.secret${i}`)).toBe(401);
    for (let i = 0; i < 8; i++) expect(await chat(gw, keys.bob!, 'digits')).toBe(403);
    await until(async () => (await alertsInStore()).length >= 3);
    const alerts = await alertsInStore();
    expect(alerts.map((a) => `${a.detector} ${JSON.stringify(JSON.parse(a.details).subject)}`).sort()).toEqual([
      'auth-failure-burst {"sourceIp":"127.0.0.1"}',
      'authz-deny-burst {"principal":"bob"}',
      'authz-deny-burst {"sourceIp":"127.0.0.1"}',
    ]);
    expect(received.size).toBe(0);
    await gw.close();

    // Restart; the receiver comes back; everything queued arrives, once.
    gw = await startGateway(config(), { logger: silentLogger(), processMetrics: false });
    hookDown = false;
    await until(() => received.size === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect([...received.keys()].sort()).toEqual(alerts.map((a) => a.id).sort());
    expect([...received.values()]).toEqual([1, 1, 1]);
    expect(badSig).toBe(0);

    // The admin API: authenticated, Cedar `admin`, the caller recorded as who acted.
    const admin = async (method: string, path: string, key: string | null) => {
      const r = await request(`${gw.url}${path}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
      return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
    };
    expect((await admin('GET', '/admin/alerts', null)).status).toBe(401);
    expect((await admin('GET', '/admin/alerts', keys.bob!)).status).toBe(403);
    const listed = await admin('GET', '/admin/alerts?status=open', keys.olga!);
    expect(listed.status).toBe(200);
    expect((listed.json.data as { id: string }[]).map((a) => a.id).sort()).toEqual(alerts.map((a) => a.id).sort());
    const target = alerts[0]!.id;
    expect((await admin('POST', `/admin/alerts/${target}/ack`, keys.olga!)).json).toMatchObject({ id: target, status: 'acknowledged', ackedBy: 'olga' });
    expect((await admin('POST', `/admin/alerts/${target}/ack`, keys.olga!)).status).toBe(409);
    expect((await admin('POST', `/admin/alerts/${target}/resolve`, keys.olga!)).json).toMatchObject({ status: 'resolved', resolvedBy: 'olga' });
    expect((await admin('GET', `/admin/alerts/${target}`, keys.olga!)).json).toMatchObject({ status: 'resolved' });
    expect((await admin('POST', '/admin/alerts/nope/resolve', keys.olga!)).status).toBe(404);
    expect((await admin('GET', '/admin/alerts?status=weird', keys.olga!)).status).toBe(400);
    expect((await admin('DELETE', `/admin/alerts/${target}`, keys.olga!)).status).toBe(405);
    // The monitor's metrics are on the gateway's /metrics.
    const m = await request(`${gw.url}/metrics`);
    expect(await m.body.text()).toMatch(/rampart_alert_deliveries_total\{sink="hook"\} \d/);
    await gw.close();
  });
});
