// Built-in detectors on real traffic through the gateway (short windows so the test runs in
// seconds): benign requests raise nothing; a volume spike from a new key, a failing upstream and a
// principal walking through models each raise their detector's alert, about the right subject.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { startUpstream, tempDir, type TestUpstream } from '../gateway/helpers.js';

let upstream: TestUpstream;
let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let gw: RunningGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  tmp = tempDir('rampart-gwdet-');
  upstream = await startUpstream();
  writeFileSync(
    join(tmp.dir, 'policy.cedar'),
    `@id("users")\npermit (principal in Rampart::Role::"user", action == Rampart::Action::"invoke", resource) unless { resource.name == "digits" };\n`,
  );
  store = openSqliteStore({ path: ':memory:' }, silentLogger());
  for (const p of ['alice', 'bob', 'carol']) keys[p] = (await createApiKey(store.keys, { principal: p, roles: ['user'] })).key;
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [
        { name: 'chat', protocol: 'openai', upstream: { url: upstream.url } },
        { name: 'down', protocol: 'openai', upstream: { url: 'http://127.0.0.1:9', timeout: '2s' } },
        { name: 'digits', protocol: 'kserve-v2', upstream: { url: upstream.url } },
      ],
      monitoring: {
        enabled: true,
        detectors: {
          requestVolume: { windowMs: 1000, coldStartMax: 20, minValue: 5 },
          exfiltration: { enabled: false },
          upstreamHealth: { windowMs: 1000, minRequests: 5 },
          enumeration: { windowMs: 60_000, minDistinct: 2, coldStartDistinct: 3 },
        },
      },
    },
    tmp.dir,
    'test',
  );
  gw = await startGateway(config, { logger: silentLogger(), store, processMetrics: false });
});

afterAll(async () => {
  await gw.close();
  await store.close();
  await upstream.close();
  tmp.cleanup();
});

async function call(who: string, model: string): Promise<number> {
  const kserve = model === 'digits';
  const r = await request(`${gw.url}${kserve ? '/v2/models/digits/infer' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[who]!}`, 'content-type': 'application/json' },
    body: JSON.stringify(kserve ? { inputs: [] } : { model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.dump();
  return r.statusCode;
}

/** Waits past the current 1 s window, then sends one request so the windowed detectors evaluate. */
async function closeWindow(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100));
  await call('alice', 'chat');
}

async function alerts(): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 150));
  return (await store.alerts.listAlerts({ limit: 50 })).map((a) => `${a.detector} ${JSON.stringify((JSON.parse(a.details) as { subject: unknown }).subject)}`).sort();
}

describe('detectors on gateway traffic', () => {
  it('quiet on benign traffic; volume spike, failing upstream and enumeration each alert', async () => {
    for (let i = 0; i < 6; i++) expect(await call(i % 2 ? 'alice' : 'bob', 'chat')).toBe(200);
    await closeWindow();
    expect(await alerts()).toEqual([]);

    // Start the incidents right after a window boundary so each lands in one window even on a
    // loaded machine.
    while (Date.now() % 1000 > 50) await new Promise((r) => setTimeout(r, 5));
    const statuses = await Promise.all([
      ...Array.from({ length: 40 }, () => call('bob', 'chat')),
      ...Array.from({ length: 8 }, () => call('alice', 'down')),
      call('carol', 'chat'),
      call('carol', 'digits'),
      call('carol', 'down'),
    ]);
    expect(statuses.slice(40, 48)).toEqual(Array(8).fill(502));
    expect(statuses.slice(48)).toEqual([200, 403, 502]);
    await closeWindow();
    expect(await alerts()).toEqual([
      'enumeration {"principal":"carol"}',
      'request-volume {"principal":"bob"}',
      'upstream-health {"model":"down"}',
    ]);
  });
});
