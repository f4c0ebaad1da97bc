// Model-extraction evaluation (issue #6, evidence): the real demo (TLS, API keys in SQLite, Cedar,
// the KServe v2 digits classifier) with a gateway whose guards are the demo's `extraction` and
// `output-hardening` entries with their defaults, plus the full demo gateway (every guard on).
// (a) Jacobian-based synthetic data augmentation (Papernot et al. 2017) through the gateway: the
//     number of answered queries when the principal is throttled, and the surrogate's agreement
//     with the served model on held-out digits at that moment; the same attack straight against
//     the model server (no defence) for comparison. A random-probing attacker for the coverage signal.
// (b) Benign traffic: several principals replaying real digits rows (per-principal shuffles,
//     repeats, batches of 1-10) concurrently: alarms and refusals.
// Run after `npm run build`: node bench/extraction-eval.mjs [--benign-principals 8]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createApiKey } from '../dist/auth/index.js';
import { loadConfig } from '../dist/config/load.js';
import { silentLogger } from '../dist/core/logger.js';
import { argmax, inputGradient, predictProba, seededRandom, shuffledIndices, trainClassifier } from '../dist/demo/classifier/model.js';
import { trainDigits } from '../dist/demo/classifier/server.js';
import { runDemo } from '../dist/demo/index.js';
import { runJbda } from '../dist/detect/extraction/jbda.js';
import { startGateway } from '../dist/gateway/index.js';
import { openStore } from '../dist/store/index.js';
import { extractionGuardFactory } from '../dist/guards/extraction/index.js';
import { openSqliteStore } from '../dist/store/sqlite.js';
import { describeClassifier, infer as modelInfer } from '../dist/demo/classifier/v2-protocol.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const BENIGN = arg('--benign-principals', 8);
const D = 64;
const trained = trainDigits();
const row = (ds, r) => Array.from(ds.x.subarray(r * D, r * D + D));
const served = (x) => argmax(predictProba(trained.model, x));
const testPred = Array.from({ length: trained.test.n }, (_, r) => served(row(trained.test, r)));

function agreement(m) {
  if (!m) return 0;
  let ok = 0;
  for (let r = 0; r < trained.test.n; r++) if (argmax(predictProba(m, row(trained.test, r))) === testPred[r]) ok++;
  return ok / trained.test.n;
}
function trainSurrogate(x, y) {
  const ds = { n: x.length, d: D, x: new Float64Array(x.length * D), y: Int32Array.from(y) };
  x.forEach((v, i) => ds.x.set(v, i * D));
  const m = trainClassifier(ds, 10, { inputScale: 1 / 16, epochs: 20, seed: 3 });
  return Object.assign(m, { lossGradient: (xx, l) => inputGradient(m, xx, l).gradient });
}
function seedsPerClass(k) {
  const seeds = [];
  const per = new Map();
  for (let r = 0; seeds.length < 10 * k; r++) {
    const c = trained.test.y[r];
    if ((per.get(c) ?? 0) < k) {
      per.set(c, (per.get(c) ?? 0) + 1);
      seeds.push(Float64Array.from(row(trained.test, r)));
    }
  }
  return seeds;
}

const tmp = mkdtempSync(join(tmpdir(), 'rampart-extraction-eval-'));
const dir = join(tmp, 'demo');
const demo = await runDemo({ dir, port: 0, chunkDelayMs: 0 });
const agent = new Agent({ connect: { ca: readFileSync(demo.info.caCertFile) }, connections: 64 });
const text = readFileSync(demo.info.configFile, 'utf8');
const guardsBlock = text.slice(text.indexOf('\nguards:\n'), text.indexOf('\nmonitoring:'));
const cfgText = text
  .replace(guardsBlock, '\nguards:\n  - type: extraction\n  - type: output-hardening\n')
  .replace(/listen: "127\.0\.0\.1:\d+"/, 'listen: "127.0.0.1:0"')
  .replace('path: rampart.db', 'path: extraction.db');
writeFileSync(join(dir, 'gateway-extraction.yaml'), cfgText);
const { config } = loadConfig(join(dir, 'gateway-extraction.yaml'));
const store = await openStore(config.store, silentLogger());
const keys = {};
const names = ['mallory', 'mallory1', 'eve', ...Array.from({ length: BENIGN }, (_, i) => `user${i + 1}`)];
for (const name of names) keys[name] = (await createApiKey(store.keys, { principal: name, roles: ['analyst'], kind: 'user', description: 'extraction eval' })).key;
const gateway = await startGateway(config, { logger: silentLogger(), store, baseDir: dir });

async function infer(base, key, rows) {
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [rows.length, D], datatype: 'FP32', data: rows.flat() }] });
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const r = await request(`${base}/v2/models/digits/infer`, { method: 'POST', body, dispatcher: agent, headers });
  return { status: r.statusCode, body: await r.body.json(), retryAfter: r.headers['retry-after'] };
}

/** JbDA through `base` with `key` (null: the model server itself); batches of 10 rows per request. */
async function attack(base, key, k, rounds) {
  let answered = 0;
  let refusal = null;
  const answeredX = [];
  const answeredY = [];
  const curve = [];
  const result = await runJbda({
    seeds: seedsPerClass(k),
    rounds,
    lambda: 1.6,
    tau: 3,
    clipMin: 0,
    clipMax: 16,
    oracle: async (batch) => {
      const labels = [];
      for (let i = 0; i < batch.length; i += 10) {
        const rows = batch.slice(i, i + 10).map((x) => Array.from(x));
        const r = await infer(base, key, rows);
        if (r.status !== 200) {
          refusal = { status: r.status, retryAfter: r.retryAfter, code: r.body?.code ?? r.body?.error?.code, message: r.body?.error?.message ?? r.body?.error };
          return null;
        }
        const got = r.body.outputs.find((o) => o.name === 'label').data;
        labels.push(...got);
        answered += got.length;
        answeredX.push(...rows.map((x) => Float64Array.from(x)));
        answeredY.push(...got);
      }
      return labels;
    },
    train: trainSurrogate,
    onRound: (round, s, n) => {
      curve.push({ round, queries: n, agreement: agreement(s) });
    },
  });
  // What the attacker can do with every answer it got, including the round cut short.
  const all = answeredX.length ? agreement(trainSurrogate(answeredX, answeredY)) : 0;
  return { answered, usable: result.queries, stopped: result.stopped, refusal, agreementAtStop: agreement(result.surrogate), agreementAllAnswers: all, curve };
}

const out = { date: new Date().toISOString(), testRows: trained.test.n, modelTestAccuracy: trained.testAccuracy, attacks: [], probe: null, benign: null, fullDemo: null };

// (a) JbDA with 1 and 3 real seeds per class, through the gateway and without defence.
for (const [k, rounds, who] of [[3, 7, 'mallory'], [1, 8, 'mallory1']]) {
  const defended = await attack(gateway.url, keys[who], k, rounds);
  const undefended = await attack(demo.info.upstreams.find((u) => u.name === 'digits').url, null, k, rounds);
  out.attacks.push({ seedsPerClass: k, rounds, defended, undefended });
}

// Random probing (uniform pixels): the coverage signal.
{
  const rand = seededRandom(77);
  let answered = 0;
  let refusal = null;
  while (answered < 20_000) {
    const rows = Array.from({ length: 10 }, () => Array.from({ length: D }, () => Math.round(rand() * 16)));
    const r = await infer(gateway.url, keys.eve, rows);
    if (r.status !== 200) {
      refusal = { status: r.status, retryAfter: r.retryAfter, message: r.body?.error?.message ?? r.body?.error };
      break;
    }
    answered += 10;
  }
  out.probe = { answered, refusal };
}

// (b) Benign principals, concurrently.
{
  const t0 = performance.now();
  const per = await Promise.all(
    Array.from({ length: BENIGN }, async (_, p) => {
      const rand = seededRandom(1000 + p);
      const src = p % 2 ? trained.test : trained.train;
      const order = shuffledIndices(src.n, rand);
      const n = 300 + Math.floor(rand() * 1200);
      const rows = [];
      for (let k = 0; k < n; k++) rows.push(row(src, rand() < 0.15 ? order[Math.floor(rand() * (k + 1)) % src.n] : order[k % src.n]));
      let refused = 0;
      const reasons = [];
      for (let i = 0; i < rows.length; ) {
        const b = 1 + Math.floor(rand() * 10);
        const r = await infer(gateway.url, keys[`user${p + 1}`], rows.slice(i, i + b));
        if (r.status !== 200) {
          refused++;
          reasons.push(r.body?.error?.message ?? r.body?.error);
        }
        i += b;
      }
      return { principal: `user${p + 1}`, source: p % 2 ? 'test' : 'train', rows: n, refused, reasons };
    }),
  );
  out.benign = { principals: BENIGN, rows: per.reduce((a, b) => a + b.rows, 0), refused: per.reduce((a, b) => a + b.refused, 0), seconds: (performance.now() - t0) / 1000, per };
}

// The full demo gateway (every guard on, demo defaults): which guard stops the JbDA attacker first.
{
  const alice = demo.info.identities.find((i) => i.name === 'alice').apiKey;
  out.fullDemo = await attack(demo.info.gatewayUrl, alice, 3, 7);
  delete out.fullDemo.curve;
}

// Alerts raised by the monitor from the guards' high-severity verdicts (the demo's alert file).
await new Promise((r) => setTimeout(r, 1500));
let alerts = [];
try {
  alerts = readFileSync(demo.info.alertsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
} catch {
  alerts = [];
}
out.alerts = alerts.map((a) => ({ title: a.title ?? a.alert?.title, severity: a.severity ?? a.alert?.severity })).slice(0, 20);

// CPU cost of the guard itself (both phases, one row per call, SQLite store, no network): a benign
// principal's 2,000 calls after 3,000 rows of history, measured with process.cpuUsage.
{
  const st = openSqliteStore({ path: join(tmp, 'cpu.db') }, silentLogger());
  const g = await extractionGuardFactory.create('extraction', extractionGuardFactory.options.parse({}), {
    logger: silentLogger(),
    store: st,
    emit: () => undefined,
    baseDir: tmp,
    models: [],
  });
  const desc = describeClassifier('digits', trained.model);
  const ctx = (now) => ({ requestId: 'r', route: 'kserve.infer', protocol: 'kserve', model: { name: 'digits' }, principal: { id: 'cpu', kind: 'user', roles: [], groups: [], authMethod: 'api-key', attributes: {} }, sourceIp: '127.0.0.1', now, signal: new AbortController().signal });
  const rand = seededRandom(5);
  const call = async (x, now) => {
    const body = { inputs: [{ name: 'input', shape: [1, D], datatype: 'FP32', data: x }] };
    const response = modelInfer(trained.model, desc, body);
    const c = ctx(now);
    await g.checkRequest({ ...c, body, texts: () => [], callModel: async () => ({ status: 500, body: null }) });
    return { body, response, c };
  };
  const noisy = (r) => row(trained.train, r % trained.train.n).map((v) => Math.min(16, Math.max(0, v + Math.round((rand() - 0.5) * 2))));
  for (let i = 0; i < 3000; i++) {
    const { body, response, c } = await call(noisy(i), Date.now());
    await g.checkResponse({ ...c, status: 200, body: response, requestBody: body, texts: () => [] });
  }
  const calls = [];
  for (let i = 0; i < 2000; i++) {
    const body = { inputs: [{ name: 'input', shape: [1, D], datatype: 'FP32', data: noisy(3000 + i) }] };
    calls.push({ body, response: modelInfer(trained.model, desc, body) });
  }
  const cpu0 = process.cpuUsage();
  for (const { body, response } of calls) {
    const c = ctx(Date.now());
    await g.checkRequest({ ...c, body, texts: () => [], callModel: async () => ({ status: 500, body: null }) });
    await g.checkResponse({ ...c, status: 200, body: response, requestBody: body, texts: () => [] });
  }
  const cpu = process.cpuUsage(cpu0);
  out.guardCpuMicrosPerCall = (cpu.user + cpu.system) / calls.length;
  await g.close();
  await st.close();
}

console.log(JSON.stringify(out, null, 2));
await gateway.close();
await store.close();
await agent.close();
await demo.close();
rmSync(tmp, { recursive: true, force: true });
