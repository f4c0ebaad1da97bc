// Output drift on real traffic: the demo's KServe v2 digits classifier behind the gateway, the
// `predictions` guard publishing each answer as a `model.prediction` event, the output-drift
// detector on small windows. Held-out digits in their natural mix raise nothing; a stream of
// nothing but sevens (a shifted input population) raises an output-drift alert about the model.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { startClassifierServer, trainDigits } from '../../src/demo/classifier/server.js';
import type { RunningServer } from '../../src/demo/http.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../gateway/helpers.js';

const digits = trainDigits();
let classifier: RunningServer;
let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let gw: RunningGateway;
let key: string;

beforeAll(async () => {
  tmp = tempDir('rampart-gwdrift-');
  classifier = await startClassifierServer({ model: digits.model });
  writeFileSync(join(tmp.dir, 'policy.cedar'), `@id("users")\npermit (principal in Rampart::Role::"user", action == Rampart::Action::"invoke", resource);\n`);
  store = openSqliteStore({ path: ':memory:' }, silentLogger());
  key = (await createApiKey(store.keys, { principal: 'app', roles: ['user'] })).key;
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [{ name: 'digits', protocol: 'kserve-v2', upstream: { url: classifier.url } }],
      guards: [{ type: 'predictions' }],
      monitoring: { enabled: true, detectors: { outputDrift: { referenceSize: 150, windowSize: 100, step: 20 } } },
    },
    tmp.dir,
    'test',
  );
  gw = await startGateway(config, { logger: silentLogger(), store, processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await store?.close();
  await classifier?.close();
  tmp?.cleanup();
});

/** Sends rows in batches of 10; returns the HTTP statuses. */
async function infer(rows: number[]): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < rows.length; i += 10) {
    const batch = rows.slice(i, i + 10);
    const data = batch.flatMap((r) => Array.from(digits.test.x.subarray(r * 64, r * 64 + 64)));
    const r = await request(`${gw.url}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [batch.length, 64], data }] }),
    });
    await r.body.dump();
    statuses.push(r.statusCode);
  }
  return statuses;
}

async function driftAlerts(waitMs: number, want: number): Promise<{ title: string; subject: unknown }[]> {
  const until = Date.now() + waitMs;
  for (;;) {
    const list = (await store.alerts.listAlerts({ limit: 20 })).filter((a) => a.detector === 'output-drift');
    if (list.length >= want || Date.now() > until) return list.map((a) => ({ title: a.title, subject: (JSON.parse(a.details) as { subject: unknown }).subject }));
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('output drift through the gateway', () => {
  it('quiet on the natural mix of digits, alerts when the answers shift to one class', async () => {
    const n = digits.test.y.length;
    const mixed = Array.from({ length: 300 }, (_, i) => (i * 7) % n);
    expect(new Set(await infer(mixed))).toEqual(new Set([200]));
    expect(await driftAlerts(1000, 1)).toEqual([]);
    const sevens = Array.from({ length: n }, (_, i) => i).filter((i) => digits.test.y[i] === 7);
    expect(sevens.length).toBeGreaterThan(20);
    const shifted = Array.from({ length: 100 }, (_, i) => sevens[i % sevens.length]!);
    expect(new Set(await infer(shifted))).toEqual(new Set([200]));
    const alerts = await driftAlerts(10_000, 1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toEqual({ model: 'digits' });
    expect(alerts[0]!.title).toMatch(/Output drift of digits/);
  });
});
