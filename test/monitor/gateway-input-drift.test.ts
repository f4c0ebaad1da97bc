// Input drift on real traffic: records sent to the gateway's dataset ingestion route, a share of
// the accepted ones published as `data.record` events with their numeric features, the input-drift
// detector on small windows. Records like the trusted history raise nothing; records that stay
// inside the baseline's ranges (so every one is accepted) but whose `amount` moved to the top of
// its range raise an input-drift alert naming that feature and the dataset.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildBaseline, writeBaseline } from '../../src/dataset/baseline.js';
import { readDataset } from '../../src/dataset/read-dataset.js';
import { mulberry32 } from '../../src/detect/random.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { startUpstream, tempDir, type TestUpstream } from '../gateway/helpers.js';

let upstream: TestUpstream;
let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let gw: RunningGateway;
let key: string;
const rnd = mulberry32(23);
const record = (shift: boolean) => ({ amount: Number((shift ? 42 + 8 * rnd() : 20 + 30 * rnd()).toFixed(2)), age: 18 + Math.floor(72 * rnd()), label: rnd() < 0.1 ? 'fraud' : 'ok' });

beforeAll(async () => {
  tmp = tempDir('rampart-gwindrift-');
  upstream = await startUpstream();
  const lines = ['amount,age,label'];
  for (let i = 0; i < 400; i++) {
    const r = record(false);
    lines.push(`${r.amount},${r.age},${r.label}`);
  }
  writeFileSync(join(tmp.dir, 'history.csv'), lines.join('\n') + '\n');
  writeBaseline(join(tmp.dir, 'tx-baseline.json'), buildBaseline(await readDataset(join(tmp.dir, 'history.csv'), { label: 'label' }), 'label'));
  writeFileSync(join(tmp.dir, 'policy.cedar'), `@id("ingest")\npermit (principal in Rampart::Role::"ingester", action == Rampart::Action::"ingest", resource is Rampart::Dataset);\n`);
  store = openSqliteStore({ path: ':memory:' }, silentLogger());
  key = (await createApiKey(store.keys, { principal: 'etl', roles: ['ingester'] })).key;
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [{ name: 'chat', protocol: 'openai', upstream: { url: upstream.url } }],
      datasets: [{ name: 'transactions', baseline: 'tx-baseline.json', label: 'label', maxRecords: 100, events: { sampleAccepted: 1 } }],
      monitoring: { enabled: true, detectors: { inputDrift: { referenceSize: 200, windowSize: 100, step: 20 } } },
    },
    tmp.dir,
    'test',
  );
  gw = await startGateway(config, { logger: silentLogger(), store, processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await store?.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function ingest(n: number, shift: boolean): Promise<number> {
  let accepted = 0;
  for (let i = 0; i < n; i += 50) {
    const r = await request(`${gw.url}/v1/datasets/transactions/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: Math.min(50, n - i) }, () => record(shift))),
    });
    expect(r.statusCode).toBe(200);
    accepted += ((await r.body.json()) as { accepted: number }).accepted;
  }
  return accepted;
}

async function driftAlerts(waitMs: number): Promise<{ title: string; subject: unknown }[]> {
  const until = Date.now() + waitMs;
  for (;;) {
    const list = (await store.alerts.listAlerts({ limit: 20 })).filter((a) => a.detector === 'input-drift');
    if (list.length || Date.now() > until) return list.map((a) => ({ title: a.title, subject: (JSON.parse(a.details) as { subject: unknown }).subject }));
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('input drift through the ingestion route', () => {
  it('quiet on records like the history; alerts when amounts move within their range', async () => {
    expect(await ingest(400, false)).toBe(400);
    expect(await driftAlerts(1000)).toEqual([]);
    expect(await ingest(100, true)).toBe(100);
    const alerts = await driftAlerts(10_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toEqual({ source: 'dataset:transactions' });
    expect(alerts[0]!.title).toBe('Input drift in dataset:transactions: amount');
  });
});
