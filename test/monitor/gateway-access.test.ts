// The access detectors on real traffic through the gateway, with their baselines learned from the
// stored event history that the monitor replays at start-up (monitoring.events.warmup): a principal
// active at its usual hours for days is reported when it works at 03:30; a principal seen only on
// one /24 is reported from a new network (its known network stays quiet); a brand-new key
// downloading far more than its cold-start ceiling is reported as exfiltration, a light one is not.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { makeEvent } from '../../src/events/schema.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../gateway/helpers.js';

const HOUR = 3_600_000;
let upstream: Server;
let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let gw: RunningGateway;
const keys: Record<string, string> = {};
const now = Date.now();
// Local time (utcOffsetMinutes) is chosen so that it is 03:30 now and stays 03:xx for 30 minutes.
const minuteOfDay = Math.floor((now % 86_400_000) / 60_000);
const offsetMinutes = 3 * 60 + 30 - minuteOfDay;

function history(principal: string, ip: (i: number) => string): ReturnType<typeof makeEvent>[] {
  const out = [];
  let i = 0;
  // Three days back, office hours 09:00–17:59 local, 12 requests an hour (324: past the 300 that off-hours learns from).
  for (let day = 3; day >= 1; day--) {
    const localMidnight = Math.floor((now + offsetMinutes * 60_000) / 86_400_000) * 86_400_000 - day * 86_400_000;
    for (let h = 9; h <= 17; h++) {
      for (let k = 0; k < 12; k++, i++) {
        const t = localMidnight + h * HOUR + k * 5 * 60_000 - offsetMinutes * 60_000;
        out.push(
          makeEvent({
            type: 'gateway.request',
            source: 'gateway',
            id: `hist-${principal}-${i}`,
            time: t,
            principal,
            model: 'chat',
            sourceIp: ip(i),
            data: { requestId: `h${i}`, route: 'openai.chat.completions', method: 'POST', decision: 'allow', status: 200, errorCode: null, latencyMs: 5, upstreamMs: 4, bytesIn: 120, bytesOut: 400, totalTokens: 12 },
          }),
        );
      }
    }
  }
  return out;
}

beforeAll(async () => {
  tmp = tempDir('rampart-gwaccess-');
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // The generic "files" model answers 100 kB; everything else a small chat completion.
      const big = req.url?.startsWith('/files');
      const body = big ? JSON.stringify({ blob: 'x'.repeat(100_000) }) : JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  writeFileSync(join(tmp.dir, 'policy.cedar'), `@id("users")\npermit (principal in Rampart::Role::"user", action == Rampart::Action::"invoke", resource);\n`);
  store = openSqliteStore({ path: ':memory:' }, silentLogger());
  for (const p of ['dave', 'erin', 'frank', 'gina']) keys[p] = (await createApiKey(store.keys, { principal: p, roles: ['user'] })).key;
  const events = [...history('dave', () => '10.7.0.5'), ...history('erin', (i) => `10.1.1.${1 + (i % 40)}`)];
  await store.events.appendEvents(events.map((e) => ({ id: e.id, time: e.time, type: e.type, principal: e.principal ?? null, body: JSON.stringify(e) })));
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true, trustedProxies: ['127.0.0.1'] },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [
        { name: 'chat', protocol: 'openai', upstream: { url: upUrl } },
        { name: 'files', protocol: 'generic', upstream: { url: `${upUrl}/files` } },
      ],
      monitoring: {
        enabled: true,
        events: { warmup: '4d' },
        detectors: {
          offHours: { utcOffsetMinutes: offsetMinutes },
          exfiltration: { windowMs: 1000, minValue: 100_000, coldStartMax: 250_000 },
          requestVolume: { enabled: false },
        },
      },
    },
    tmp.dir,
    'test',
  );
  gw = await startGateway(config, { logger: silentLogger(), store, processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await store?.close();
  await new Promise((r) => upstream?.close(r));
  tmp?.cleanup();
});

async function chat(who: string, ip: string): Promise<number> {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[who]!}`, 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.dump();
  return r.statusCode;
}

async function download(who: string): Promise<number> {
  const r = await request(`${gw.url}/generic/files/export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[who]!}`, 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
    body: '{}',
  });
  await r.body.dump();
  return r.statusCode;
}

async function alertSubjects(expected: number, waitMs = 10_000): Promise<string[]> {
  const until = Date.now() + waitMs;
  for (;;) {
    const list = (await store.alerts.listAlerts({ limit: 50 })).map((a) => `${a.detector} ${(JSON.parse(a.details) as { subject: { principal?: string } }).subject.principal ?? ''}`).sort();
    if (list.length >= expected || Date.now() > until) return list;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('access detectors on gateway traffic, warmed up from stored history', () => {
  it('reports off-hours work, a new network and exfiltration; stays quiet on the usual', async () => {
    // Known network, few requests: nothing. Two from a network erin never used: new-network.
    for (const ip of ['10.1.1.7', '10.1.1.30', '10.1.1.7']) expect(await chat('erin', ip)).toBe(200);
    expect(await alertSubjects(1, 1500)).toEqual([]);
    for (const ip of ['203.0.113.9', '203.0.113.10']) expect(await chat('erin', ip)).toBe(200);
    // dave, from his usual network but at 03:30 local, for 12 requests: off-hours.
    for (let i = 0; i < 12; i++) expect(await chat('dave', '10.7.0.5')).toBe(200);
    // A new key pulling 400 kB within a second (ceiling 250 kB): exfiltration; gina's 100 kB is not.
    while (Date.now() % 1000 > 300) await new Promise((r) => setTimeout(r, 10));
    expect(await Promise.all([download('frank'), download('frank'), download('frank'), download('frank'), download('gina')])).toEqual([200, 200, 200, 200, 200]);
    // Close the 1 s exfiltration window with a later request.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await chat('gina', '10.9.9.9')).toBe(200);
    expect(await alertSubjects(3)).toEqual(['exfiltration frank', 'new-network erin', 'off-hours dave']);
  });
});
