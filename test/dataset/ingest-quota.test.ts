// Quotas on the dataset ingestion route, through a real gateway over TLS: a caller's own
// requests-per-minute limit (quotas.principals) applies to ingestion as to model routes, a
// dataset's `quotas` limit all callers together, a refusal is 429 with Retry-After and stores
// nothing, and a model of the same name keeps its own counters. Regression: ingestion took no
// quota lease, so an allowed principal could fill the store at line rate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildBaseline, writeBaseline } from '../../src/dataset/baseline.js';
import { readDataset } from '../../src/dataset/read-dataset.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createDevPki } from '../../src/tls/pki.js';
import { startUpstream, tempDir, writeFiles, type TestUpstream } from '../gateway/helpers.js';

let upstream: TestUpstream;
let tmp: ReturnType<typeof tempDir>;
let dispatcher: Agent;
let gw: RunningGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  tmp = tempDir('rampart-ingest-quota-');
  upstream = await startUpstream();
  const pki = await createDevPki();
  const files = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
  dispatcher = new Agent({ connect: { ca: pki.ca.certPem } });
  const lines = ['amount,label'];
  for (let i = 0; i < 60; i++) lines.push(`${20 + (i % 12)},${i % 6 === 0 ? 'fraud' : 'ok'}`);
  writeFileSync(join(tmp.dir, 'history.csv'), lines.join('\n') + '\n');
  writeBaseline(join(tmp.dir, 'b.json'), buildBaseline(await readDataset(join(tmp.dir, 'history.csv'), { label: 'label' }), 'label'));
  writeFileSync(join(tmp.dir, 'policy.cedar'), '@id("ingest") permit (principal, action == Rampart::Action::"ingest", resource is Rampart::Dataset);\n');
  const store = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
  keys.bot = (await createApiKey(store.keys, { principal: 'bot', roles: [], kind: 'service' })).key;
  keys.other = (await createApiKey(store.keys, { principal: 'other', roles: [], kind: 'service' })).key;
  await store.close();
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', tls: { cert: files['server.pem']!, key: files['server-key.pem']! } },
      store: { type: 'sqlite', path: 'rampart.db' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      quotas: { principals: { bot: { requestsPerMinute: 3 } } },
      // A model of the same name with a tighter limit: it must not count ingestion into the dataset.
      models: [{ name: 'tx', protocol: 'openai', upstream: { url: upstream.url }, quotas: { requestsPerMinute: 1 } }],
      datasets: [{ name: 'tx', baseline: 'b.json', label: 'label', quotas: { requestsPerMinute: 4 } }],
    },
    tmp.dir,
    'test',
  );
  gw = await startGateway(config, { logger: silentLogger(), processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await dispatcher?.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function ingest(key: string) {
  const r = await request(`${gw.url}/v1/datasets/tx/records`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 25, label: 'ok' }),
  });
  return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: (await r.body.json()) as { error?: { code: string; message: string } } };
}

describe('ingestion quotas', () => {
  it("refuses past the caller's limit and past the dataset's, with 429 and Retry-After, storing nothing", async () => {
    const bot = [];
    for (let i = 0; i < 4; i++) bot.push(await ingest(keys.bot!));
    expect(bot.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(Number(bot[3]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(bot[3]!.body.error).toMatchObject({ code: 'RAMPART_ERR_QUOTA_EXCEEDED' });
    expect(bot[3]!.body.error!.message).toMatch(/^principal quota exceeded: requestsPerMinute/);
    // The dataset allows 4 a minute over all callers: 3 went to bot, one is left for the other caller.
    const other = [await ingest(keys.other!), await ingest(keys.other!)];
    expect(other.map((r) => r.status)).toEqual([200, 429]);
    expect(Number(other[1]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(other[1]!.body.error!.message).toMatch(/^dataset quota exceeded: requestsPerMinute/);
    const s = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
    try {
      expect(await s.datasets!.countDatasetRecords('tx')).toEqual({ accepted: 4, quarantined: 0 });
    } finally {
      await s.close();
    }
  });
});
