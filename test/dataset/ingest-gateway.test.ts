// The dataset ingestion route end to end through a real gateway over TLS (SQLite store, API keys,
// Cedar policy, monitoring): an allowed principal ingests; a denied one gets 403 whatever its body;
// out-of-range, unseen-label and out-of-schema records are quarantined with reasons and stored apart;
// malformed bodies are refused with coded errors; a burst of quarantined records raises an alert
// through a documented monitoring rule; the CLI exports and releases records; a repeated record is
// flagged and a conflicting-label repeat quarantined; bad dataset configs stop start-up with coded errors.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildBaseline, writeBaseline } from '../../src/dataset/baseline.js';
import { exportRecords } from '../../src/dataset/records-cli.js';
import { readDataset } from '../../src/dataset/read-dataset.js';
import { mulberry32 } from '../../src/detect/random.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createDevPki, type DevPki } from '../../src/tls/pki.js';
import { startUpstream, tempDir, writeFiles, type TestUpstream } from '../gateway/helpers.js';

let upstream: TestUpstream;
let tmp: ReturnType<typeof tempDir>;
let pki: DevPki;
let files: Record<string, string>;
let dispatcher: Agent;
let gw: RunningGateway;
const keys: Record<string, string> = {};

function config(over: Record<string, unknown> = {}) {
  return parseConfig(
    {
      server: { listen: '127.0.0.1:0', tls: { cert: files['server.pem']!, key: files['server-key.pem']! } },
      store: { type: 'sqlite', path: 'rampart.db' },
      policy: { files: ['policy.cedar'] },
      observability: { logLevel: 'silent' },
      models: [{ name: 'chat', protocol: 'openai', upstream: { url: upstream.url } }],
      datasets: [{ name: 'transactions', baseline: 'tx-baseline.json', label: 'label', maxRecords: 50, attributes: { owner: 'risk' } }],
      monitoring: {
        enabled: true,
        rules: [
          {
            id: 'dataset-quarantine-burst',
            filter: { type: 'data.record', 'data.status': 'quarantined' },
            groupBy: ['data.dataset', 'principal'],
            window: '5m',
            threshold: 5,
            severity: 'high',
            message: '{{value}} records of {{data.dataset}} from {{principal}} quarantined in {{window}}',
          },
        ],
      },
      ...over,
    },
    tmp.dir,
    'test',
  );
}

beforeAll(async () => {
  tmp = tempDir('rampart-ingest-gw-');
  upstream = await startUpstream();
  pki = await createDevPki();
  files = writeFiles(tmp.dir, { 'server.pem': pki.server.certPem, 'server-key.pem': pki.server.keyPem });
  dispatcher = new Agent({ connect: { ca: pki.ca.certPem } });
  // A trusted history: amount ~ lognormal, age 18..90, label ok/fraud.
  const r = mulberry32(11);
  const lines = ['amount,age,label'];
  for (let i = 0; i < 400; i++) lines.push(`${(20 + 30 * r()).toFixed(2)},${18 + Math.floor(72 * r())},${r() < 0.1 ? 'fraud' : 'ok'}`);
  writeFileSync(join(tmp.dir, 'history.csv'), lines.join('\n') + '\n');
  writeBaseline(join(tmp.dir, 'tx-baseline.json'), buildBaseline(await readDataset(join(tmp.dir, 'history.csv'), { label: 'label' }), 'label'));
  writeFileSync(
    join(tmp.dir, 'policy.cedar'),
    `@id("users-chat")\npermit (principal in Rampart::Role::"user", action == Rampart::Action::"invoke", resource) when { resource.name == "chat" };\n` +
      `@id("risk-ingest")\npermit (principal in Rampart::Role::"ingester", action == Rampart::Action::"ingest", resource is Rampart::Dataset)\n` +
      `  when { resource.owner == "risk" && context.request has records && context.request.records <= 20 };\n`,
  );
  const store = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
  keys.bot = (await createApiKey(store.keys, { principal: 'ingest-bot', roles: ['ingester'], kind: 'service' })).key;
  keys.alice = (await createApiKey(store.keys, { principal: 'alice', roles: ['user'] })).key;
  await store.close();
  gw = await startGateway(config(), { logger: silentLogger(), processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await dispatcher?.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function post(key: string, body: string, opts: { name?: string; ct?: string; method?: string } = {}) {
  const r = await request(`${gw.url}/v1/datasets/${opts.name ?? 'transactions'}/records`, {
    method: (opts.method ?? 'POST') as 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${key}`, 'content-type': opts.ct ?? 'application/json' },
    body: opts.method === 'GET' ? undefined : body,
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function withStore<T>(fn: (s: ReturnType<typeof openSqliteStore>) => Promise<T>): Promise<T> {
  const s = openSqliteStore({ path: join(tmp.dir, 'rampart.db') }, silentLogger());
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('POST /v1/datasets/{name}/records', () => {
  it('accepts good records, quarantines bad ones with reasons, and stores them apart', async () => {
    const one = await post(keys.bot!, JSON.stringify({ amount: 31.5, age: 40, label: 'ok' }));
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ dataset: 'transactions', accepted: 1, quarantined: 0, data: [{ index: 0, status: 'accepted', findings: [] }] });

    const batch = [
      { amount: 25, age: 33, label: 'fraud' },
      { amount: 90_000, age: 33, label: 'ok' }, // far out of range
      { amount: 25, age: 33, label: 'refund' }, // label never seen
      { amount: 25, age: 33, label: 'ok', card: '4111' }, // field not in the baseline
      { amount: 'lots', age: 33, label: 'ok' }, // wrong type
    ];
    const res = await post(keys.bot!, JSON.stringify(batch));
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.quarantined).toBe(4);
    const rules = (res.body.data as { status: string; findings: { ruleId: string }[] }[]).map((d) => [d.status, d.findings.map((f) => f.ruleId).sort().join(' ')]);
    expect(rules).toEqual([
      ['accepted', ''],
      ['quarantined', 'RMP-DATA-004 RMP-DATA-030'],
      ['quarantined', 'RMP-DATA-006'],
      ['quarantined', 'RMP-DATA-003'],
      ['quarantined', 'RMP-DATA-002'],
    ]);

    // JSON Lines (blank lines skipped).
    const jl = await post(keys.bot!, '{"amount":22,"age":50,"label":"ok"}\n\n{"amount":23,"age":51,"label":"ok"}\n', { ct: 'application/x-ndjson' });
    expect(jl.status).toBe(200);
    expect(jl.body.accepted).toBe(2);

    await withStore(async (s) => {
      expect(await s.datasets.countDatasetRecords('transactions')).toEqual({ accepted: 4, quarantined: 4 });
      const q = await s.datasets.listDatasetRecords({ dataset: 'transactions', status: 'quarantined', limit: 10 });
      expect(q.map((x) => x.id)).toEqual(res.body.data.slice(1).map((d: { id: string }) => d.id));
      expect(JSON.parse(q[0]!.body)).toEqual(batch[1]);
      expect(q.every((x) => x.principal === 'ingest-bot')).toBe(true);
      const acc = await s.datasets.listDatasetRecords({ dataset: 'transactions', status: 'accepted', limit: 10 });
      expect(acc.some((x) => x.body.includes('90000'))).toBe(false);
    });
  });

  it('refuses a principal the policy does not allow with 403, whatever its body, and a batch above the policy limit', async () => {
    for (const body of [JSON.stringify({ amount: 31.5, age: 40, label: 'ok' }), 'not json', '']) {
      const r = await post(keys.alice!, body);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('RAMPART_ERR_POLICY_DENIED');
    }
    const big = Array.from({ length: 21 }, () => ({ amount: 30, age: 30, label: 'ok' }));
    expect((await post(keys.bot!, JSON.stringify(big))).status).toBe(403);
    expect((await post('rk_nope.nope', '{}')).status).toBe(401);
  });

  it('refuses malformed bodies, unknown datasets and other methods with coded errors', async () => {
    const code = async (body: string, opts?: Parameters<typeof post>[2]) => {
      const r = await post(keys.bot!, body, opts);
      return `${r.status} ${r.body.error?.code}`;
    };
    expect(await code('{"amount": 1,')).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code('')).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code('[]')).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code('[{"amount":1}, 3]')).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code('42')).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code('{"a":1}\n[1]\n', { ct: 'application/x-ndjson' })).toBe('400 RAMPART_ERR_DATASET_RECORD_INVALID');
    expect(await code(JSON.stringify(Array.from({ length: 51 }, () => ({}))))).toBe('413 RAMPART_ERR_DATASET_BATCH_TOO_LARGE');
    expect(await code('{}', { name: 'payroll' })).toBe('404 RAMPART_ERR_DATASET_NOT_FOUND');
    expect(await code('{}', { name: '%zz' })).toBe('404 RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND');
    expect(await code('', { method: 'GET' })).toBe('405 RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED');
    // Nothing of the refused requests was stored.
    await withStore(async (s) => expect(await s.datasets.countDatasetRecords('transactions')).toEqual({ accepted: 4, quarantined: 4 }));
  });

  it('raises an alert for a burst of quarantined records (monitoring rule on data.record events)', async () => {
    const bad = Array.from({ length: 6 }, (_, i) => ({ amount: 50_000 + i, age: 30, label: 'ok' }));
    expect((await post(keys.bot!, JSON.stringify(bad))).body.quarantined).toBe(6);
    await until(async () => withStore(async (s) => (await s.alerts.listAlerts({ limit: 10 })).some((a) => a.detector === 'rule:dataset-quarantine-burst')));
    const events = await withStore((s) => s.events.readEvents({ type: 'data.record', limit: 100 }));
    expect(events.length).toBeGreaterThanOrEqual(10);
    const e = JSON.parse(events[0]!.body);
    expect(e).toMatchObject({ type: 'data.record', principal: 'ingest-bot', data: { dataset: 'transactions', status: 'quarantined' } });
    // Events carry which checks fired, never the record's values.
    expect(events.some((x) => x.body.includes('90000') || x.body.includes('50000'))).toBe(false);
  });

  it('the CLI functions export records (as received, or with findings) and release a quarantined one', async () => {
    const sink = () => {
      const chunks: string[] = [];
      return { out: new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), text: () => chunks.join('') };
    };
    await withStore(async (s) => {
      const a = sink();
      expect(await exportRecords(s.datasets, { dataset: 'transactions', status: 'accepted', format: 'jsonl', pageSize: 2 }, a.out)).toBe(4);
      expect(a.text().trim().split('\n').map((l) => JSON.parse(l).amount)).toEqual([31.5, 25, 22, 23]);
      const q = sink();
      expect(await exportRecords(s.datasets, { dataset: 'transactions', status: 'quarantined', format: 'json' }, q.out)).toBe(10);
      const views = JSON.parse(q.text()) as { id: string; record: { amount: unknown }; findings: { ruleId: string }[] }[];
      expect(views[0]!.record.amount).toBe(90_000);
      expect(views[0]!.findings.map((f) => f.ruleId)).toContain('RMP-DATA-004');
      const released = await s.datasets.releaseDatasetRecord('transactions', views[1]!.id, 'reviewer', Date.now());
      expect(released?.releasedBy).toBe('reviewer');
      expect(await s.datasets.countDatasetRecords('transactions')).toEqual({ accepted: 5, quarantined: 9 });
    });
  });
});

describe('stream checks through the route', () => {
  it('flags a repeat of an accepted record (published as an accepted data.record event) and quarantines it with another label', async () => {
    const res = await post(keys.bot!, JSON.stringify([{ age: 40, amount: 31.5, label: 'ok' }, { amount: 31.5, age: 40, label: 'fraud' }]));
    expect(res.status).toBe(200);
    expect((res.body.data as { status: string; findings: { ruleId: string }[] }[]).map((d) => [d.status, d.findings.map((f) => f.ruleId).join()])).toEqual([
      ['accepted', 'RMP-DATA-010'],
      ['quarantined', 'RMP-DATA-011'],
    ]);
    const id = res.body.data[0].id as string;
    await until(async () => withStore(async (s) => (await s.events.readEvents({ type: 'data.record', limit: 200 })).some((e) => e.body.includes(id))));
    const ev = await withStore(async (s) => (await s.events.readEvents({ type: 'data.record', limit: 200 })).find((e) => e.body.includes(id))!);
    expect(JSON.parse(ev.body)).toMatchObject({ severity: 'low', data: { status: 'accepted', rules: ['RMP-DATA-010'] } });
  });
});

describe('dataset config validation at start-up', () => {
  it('stops on an unreadable baseline, a label that is not the baseline label, and an unknown policy attribute', async () => {
    writeFileSync(join(tmp.dir, 'broken.json'), '{"kind":"something else"}');
    const ds = (o: Record<string, unknown>) => config({ datasets: [{ name: 'transactions', baseline: 'tx-baseline.json', attributes: { owner: 'risk' }, ...o }] });
    await expect(startGateway(ds({ baseline: 'broken.json' }), { logger: silentLogger(), processMetrics: false })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_BASELINE_INVALID' });
    await expect(startGateway(ds({ label: 'age' }), { logger: silentLogger(), processMetrics: false })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_CONFIG_INVALID' });
    // The policy reads resource.owner: a dataset without that attribute fails policy validation.
    await expect(startGateway(ds({ attributes: {} }), { logger: silentLogger(), processMetrics: false })).rejects.toMatchObject({ code: 'RAMPART_ERR_POLICY_INVALID' });
    expect(() => config({ datasets: [{ name: 'a b', baseline: 'x' }] })).toThrow();
  });
});
