// Guard latency benchmark (issue 6: "bench/ reports the added latency of each guard (p50, p99)
// with the gateway under load"). The real gateway of bench/gateway.mjs (TLS, API keys, Cedar,
// quotas, the audit log; bench/gateway-setup.mjs) in front of local upstreams (bench/guards-upstream.mjs:
// an OpenAI-shaped chat model with ~1 KB answers, JSON and SSE, and the demo's KServe v2 digits
// classifier), started once per guard configuration: no guards, each guard kind alone with its
// defaults (the tensor guard with the demo's baseline built from the digits training rows, feature
// squeezing on), and the demo's set of all guards. For each configuration and each kind of traffic
// the guards apply to (chat JSON, chat stream, KServe infer), an open-loop load at a fixed rate
// (bench/guards-load.mjs) measures:
//   - end-to-end latency p50/p99; added latency = this configuration − no guards, same traffic;
//   - the gateway's CPU time per request (its /metrics), and the CPU a guard adds;
//   - each guard's own time from the `x-rampart-guards` header (p50/p99), and for stream filters
//     (not in the header, which is sent before the body) from the rampart_guard_duration_seconds
//     histogram (mean, and p50/p99 as bucket upper bounds).
// Each principal (64 API keys) sends benign traffic: prose prompts, digits rows in data-set order.
// Usage (after `npm run build`): node bench/guards.mjs [--rate 200] [--seconds 10] [--warmup 5]
//   [--connections 32] [--keys 64] [--only none,pii,...] [--dist DIR]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeBenchGatewayConfig, writeBenchPki } from './gateway-setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const DIST = resolve(opt('dist', join(HERE, '..', 'dist')));
const RATE = Number(opt('rate', '200'));
const SECONDS = Number(opt('seconds', '10'));
const WARMUP = Number(opt('warmup', '5'));
const CONNS = Number(opt('connections', '32'));
const KEYS = Number(opt('keys', '64'));
const ONLY = opt('only', '');
if (!existsSync(join(DIST, 'gateway', 'cluster.js'))) {
  process.stderr.write('run `npm run build` first (or pass --dist DIR)\n');
  process.exit(2);
}
const d = (p) => import(pathToFileURL(join(DIST, p)).href);
const { createDevPki } = await d('tls/pki.js');
const { openStore } = await d('store/index.js');
const { createApiKey } = await d('auth/index.js');
const { silentLogger } = await d('core/logger.js');

const tmp = mkdtempSync(join(tmpdir(), 'rampart-bench-guards-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** Spawns a node script and resolves with its first stdout line. */
function startNode(script, argv) {
  const c = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(c);
  c.on('exit', () => children.delete(c));
  const line = new Promise((res, rej) => {
    let out = '';
    c.stdout.on('data', (x) => {
      out += x;
      const nl = out.indexOf('\n');
      if (nl >= 0) res(out.slice(0, nl).trim());
    });
    c.on('exit', (code) => rej(new Error(`${script} exited with ${code}`)));
  });
  return { child: c, line };
}

/** How loaded the machine is: ms for a fixed JS loop (about 70-100 ms on an idle core of this VM class). */
function calibrate() {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i;
  return Math.round(performance.now() - t + (x < 0 ? 1 : 0));
}

// --- set-up: certificates, upstreams, API keys -------------------------------------------------
const calibBefore = calibrate();
const loadBefore = loadavg();
const files = await writeBenchPki(tmp, createDevPki);
const up = JSON.parse(await startNode(join(HERE, 'guards-upstream.mjs'), [DIST, tmp]).line);

const base = writeBenchGatewayConfig({ tmp, files, upstreamUrl: `http://127.0.0.1:${up.openaiPort}`, logLevel: 'warn', workers: 1 });
base.models.push({ name: 'digits', protocol: 'kserve-v2', upstream: { url: up.kserveUrl, connections: 64 }, attributes: { environment: 'bench', sensitivity: 'public' } });
base.observability.metrics = { enabled: true, path: '/metrics' };
const store = await openStore(base.store, silentLogger());
const keys = [];
for (let i = 0; i < KEYS; i++) keys.push((await createApiKey(store.keys, { principal: `bench-${i}`, roles: ['bench'] })).key);
await store.close();

const server = join(HERE, 'gateway-server.mjs');

// --- traffic ------------------------------------------------------------------------------------
// ~1 KB chat requests of ordinary prose (no personal data, no instructions to the model).
const prompts = [
  'I am preparing a short talk for our team about how we plan releases. Could you help me structure it? ',
  'Please summarise the main points of the meeting notes below and suggest three follow-up actions. ',
  'Write a friendly reply to a customer who asked when the spring catalogue will be available in stores. ',
  'Explain, for a new colleague, how our weekly planning works and which documents they should read first. ',
].map((p) =>
  (p +
    'We meet every Monday to agree on priorities, then each group writes down what it expects to finish by ' +
    'Friday. On Wednesday we check progress and move work between groups when someone is blocked. Larger ' +
    'projects are split into parts that fit in one or two weeks, and every part has an owner who reports on ' +
    'it. At the end of the month we look back at what went well, what took longer than planned and why, and ' +
    'we adjust the next plan. The notes of these meetings are kept in the shared folder so that anyone who ' +
    'missed a meeting can catch up quickly. Keep the tone simple and practical.').slice(0, 900),
);
const chatBodies = prompts.map((content) => JSON.stringify({ model: 'chat', messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content }] }));
const streamBodies = prompts.map((content) => JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content }] }));
const rows = JSON.parse(readFileSync(up.rows, 'utf8'));
const digitBodies = rows.map((r) => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, r.length], data: r }] }));
const TRAFFIC = {
  chat: { path: '/v1/chat/completions', bodies: chatBodies, label: 'chat (JSON)' },
  stream: { path: '/v1/chat/completions', bodies: streamBodies, label: 'chat (SSE)' },
  kserve: { path: '/v2/models/digits/infer', bodies: digitBodies, label: 'KServe digits' },
};
// Each principal keeps going through the rows where it stopped: no principal repeats a row.
const offsets = { chat: 0, stream: 0, kserve: 0 };

// --- configurations --------------------------------------------------------------------------------
const tensor = { type: 'tensor', options: { baselines: [up.baseline] } };
const SCENARIOS = [
  { id: 'none', guards: [], traffic: ['chat', 'stream', 'kserve'] },
  { id: 'pii', guards: [{ type: 'pii' }], traffic: ['chat', 'stream'] },
  { id: 'prompt-injection', guards: [{ type: 'prompt-injection' }], traffic: ['chat', 'stream'] },
  { id: 'tensor', guards: [tensor], traffic: ['kserve'] },
  { id: 'extraction', guards: [{ type: 'extraction' }], traffic: ['kserve'] },
  { id: 'output-hardening', guards: [{ type: 'output-hardening' }], traffic: ['kserve'] },
  { id: 'predictions', guards: [{ type: 'predictions' }], traffic: ['kserve'] },
  // The demo's set (src/demo/gateway-config.ts), in its order.
  { id: 'all (demo set)', guards: [{ type: 'prompt-injection' }, { type: 'pii' }, tensor, { type: 'extraction' }, { type: 'output-hardening' }], traffic: ['chat', 'stream', 'kserve'] },
].filter((s) => !ONLY || s.id === 'none' || ONLY.split(',').includes(s.id.split(' ')[0]));

const results = [];
for (const sc of SCENARIOS) {
  const config = { ...base, guards: sc.guards };
  const file = join(tmp, 'rampart.json');
  writeFileSync(file, JSON.stringify(config));
  const gw = startNode(server, [file, DIST]);
  const url = await gw.line;
  for (const t of sc.traffic) {
    const spec = join(tmp, 'spec.json');
    const tr = TRAFFIC[t];
    writeFileSync(
      spec,
      JSON.stringify({ url, path: tr.path, rate: RATE, seconds: SECONDS, warmupSeconds: WARMUP, ca: files.ca, keys, bodies: tr.bodies, offset: offsets[t], connections: CONNS, metricsPath: '/metrics' }),
    );
    const la = loadavg()[0];
    const r = spawnSync(process.execPath, [join(HERE, 'guards-load.mjs'), spec], { encoding: 'utf8', timeout: (SECONDS + WARMUP) * 20_000 + 60_000 });
    if (r.status !== 0) throw new Error(`load generator failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1));
    offsets[t] += Math.ceil(Math.round(RATE * (SECONDS + WARMUP)) / KEYS);
    results.push({ scenario: sc.id, traffic: t, load1: la, ...res });
    process.stderr.write(`${sc.id} / ${t}: ${JSON.stringify({ ...res, guards: undefined, histograms: undefined })}\n`);
  }
  gw.child.kill('SIGTERM');
  await new Promise((r) => (gw.child.exitCode === null ? gw.child.once('exit', r) : r()));
}
const calibAfter = calibrate();

// --- report ------------------------------------------------------------------------------------------
const f = (n, dp = 2) => (Number.isFinite(n) ? n.toFixed(dp) : 'n/a');
const sign = (n, dp = 2) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(dp)}` : 'n/a');
const noneOf = (t) => results.find((r) => r.scenario === 'none' && r.traffic === t);
const lines = [];
lines.push(`date ${new Date().toISOString()}  node ${process.version}  cpus ${cpus().length} × ${cpus()[0]?.model}`);
lines.push(`load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${loadavg().map((l) => l.toFixed(1)).join(' ')} after; calibration loop ${calibBefore} ms before, ${calibAfter} ms after (about 70-100 ms on an idle core)`);
lines.push(`fixed rate ${RATE} req/s, ${WARMUP} s warm-up + ${SECONDS} s measured per row, ${CONNS} connections, ${KEYS} principals, one gateway process (TLS + API keys + Cedar + quotas + audit)`);
lines.push('');
lines.push('| guards | traffic | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | gateway CPU µs/req | added CPU µs/req | non-200 | guard time from header, p50 / p99 ms |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const n = noneOf(r.traffic);
  const own = Object.entries(r.guards)
    .map(([g, v]) => `${g} ${f(v.p50)} / ${f(v.p99)}`)
    .concat(Object.values(r.histograms).filter((h) => h.phase === 'stream').map((h) => `${h.guard} (stream, histogram) mean ${f(h.meanMs, 3)}, p50 ≤ ${h.p50LeMs}, p99 ≤ ${h.p99LeMs}`))
    .join('; ');
  const bad = Object.entries(r.statuses).filter(([s]) => s !== '200').map(([s, c]) => `${c}×${s}`).join(' ') || (r.errors ? '' : '0');
  const isNone = r.scenario === 'none';
  lines.push(
    `| ${r.scenario} | ${TRAFFIC[r.traffic].label} | ${f(r.achievedRate, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${isNone ? '—' : sign(r.p50 - n.p50)} | ${isNone ? '—' : sign(r.p99 - n.p99)} | ${f(r.cpuUsPerRequest, 0)} | ${isNone ? '—' : sign(r.cpuUsPerRequest - n.cpuUsPerRequest, 0)} | ${bad}${r.errors ? ` ${r.errors} errors` : ''} | ${own || '—'} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', `guards-${Date.now()}.json`), JSON.stringify({ rate: RATE, seconds: SECONDS, warmup: WARMUP, keys: KEYS, calibBefore, calibAfter, results }, null, 2));
process.exit(0);
