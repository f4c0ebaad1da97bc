// Gateway CPU cost per request (issue 2, performance work): the same set-up as bench/gateway.mjs
// (TLS, API key, Cedar, quotas, SQLite store, audit) but only the gateway, driven by wrk over
// keep-alive connections; reports the gateway process's CPU time per request from its own
// /metrics, which stays meaningful on a loaded machine where wall-clock figures do not.
// Usage (after `npm run build`): node bench/gateway-cpu.mjs [--seconds 10] [--warmup 5]
//   [--connections 16] [--cpu-prof DIR] [--dist DIR] [--workers N] [--threads] [--rate R]
// --threads (Linux, one gateway process) adds the CPU per request of each of its threads, read from
// /proc: the request thread ("main"), the audit writer and the busiest others.
// --rate R measures at a fixed rate instead of wrk's maximum: bench/gateway-load.mjs (open loop, 64
// connections) sends R requests a second for 3 s of warm-up plus --seconds, and the latency percentiles
// (of the --seconds part) are reported too; the CPU figures count every request it sent.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { procStat, runLoad, writeBenchGatewayConfig, writeBenchPki } from './gateway-setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const DIST = resolve(opt('dist', join(HERE, '..', 'dist')));
const SECONDS = Number(opt('seconds', '10'));
const WARMUP = Number(opt('warmup', '5'));
const CONNS = Number(opt('connections', '16'));
const PROFILE = opt('cpu-prof', '');
const WORKERS = opt('workers', '');
const THREADS = args.includes('--threads');
const RATE = Number(opt('rate', '0'));

const d = (p) => import(pathToFileURL(join(DIST, p)).href);
const { createDevPki } = await d('tls/pki.js');
const { openStore } = await d('store/index.js');
const { createApiKey } = await d('auth/index.js');
const { silentLogger } = await d('core/logger.js');

const tmp = mkdtempSync(join(tmpdir(), 'rampart-bench-gwcpu-'));
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** Process id of the last process started, the gateway (the upstream is started before it). */
let gatewayPid = 0;
function startNode(script, argv, nodeFlags = [], env = {}) {
  const c = spawn(process.execPath, [...nodeFlags, script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(c);
  gatewayPid = c.pid;
  return new Promise((res, rej) => {
    let out = '';
    c.stdout.on('data', (x) => {
      out += x;
      const nl = out.indexOf('\n');
      if (nl >= 0) res(out.slice(0, nl).trim());
    });
    c.on('exit', (code) => rej(new Error(`${script} exited with ${code}`)));
  });
}

const files = await writeBenchPki(tmp, createDevPki);
const upstreamPort = Number(await startNode(join(HERE, 'gateway-upstream.mjs'), []));
const config = writeBenchGatewayConfig({ tmp, files, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, logLevel: 'warn', workers: WORKERS === 'auto' ? 'auto' : Number(WORKERS || 1) });
const store = await openStore(config.store, silentLogger());
const { key } = await createApiKey(store.keys, { principal: 'bench-client', roles: ['bench'] });
await store.close();

const server = join(HERE, 'gateway-server.mjs');
const flags = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE)}`] : [];
const url = await startNode(server, [join(tmp, 'rampart.json'), DIST], flags);

const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(1024 - 60) }] });
const lua = join(tmp, 'post.lua');
writeFileSync(
  lua,
  `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${key}"\nwrk.path = "/v1/chat/completions"\n`,
);
function wrk(seconds) {
  const r = spawnSync('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', '-s', lua, url], { encoding: 'utf8' });
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0),
  };
}
/** The open-loop load generator of bench/gateway.mjs at `rate` requests a second. */
function fixedRate(rate, seconds) {
  const o = runLoad({ url, path: '/v1/chat/completions', rate, seconds, warmupSeconds: 3, ca: files.ca, headers: { authorization: `Bearer ${key}` }, body, connections: 64 });
  return { rps: o.achievedRate, non2xx: o.statusBad, errors: o.errors, p50: Number(o.p50.toFixed(2)), p99: Number(o.p99.toFixed(2)) };
}
async function counters() {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: readFileSync(files.ca) } });
  try {
    const r = await request(`${url}/metrics`, { dispatcher });
    const text = await r.body.text();
    const cpu = Number(/^rampart_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1]);
    let requests = 0;
    for (const m of text.matchAll(/^rampart_gateway_requests_total\{[^}]*route="openai.chat.completions"[^}]*\} (\S+)$/gm)) requests += Number(m[1]);
    return { cpu, requests };
  } finally {
    await dispatcher.close();
  }
}

// CPU seconds (user + system) per thread of the gateway process, keyed by thread id, with the
// thread's name (the request thread is the one whose id is the process id).
function threadCpu() {
  const out = new Map();
  if (!THREADS) return out;
  const base = `/proc/${gatewayPid}/task`;
  for (const tid of readdirSync(base)) {
    try {
      const { cpuSeconds } = procStat(`${base}/${tid}/stat`);
      const name = tid === String(gatewayPid) ? 'main' : readFileSync(`${base}/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, cpuSeconds });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

wrk(WARMUP);
if (args.includes('--idle')) {
  // CPU the gateway spends with no traffic at all (timers, metrics collection, background work).
  const i0 = await counters();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const i1 = await counters();
  process.stdout.write(`${JSON.stringify({ idleCpuMsPerSecond: Math.round(((i1.cpu - i0.cpu) * 1000) / SECONDS) })}\n`);
}
const a = await counters();
const ta = threadCpu();
const t = RATE > 0 ? fixedRate(RATE, SECONDS) : wrk(SECONDS);
const tb = threadCpu();
const b = await counters();
const n = Math.max(1, b.requests - a.requests);
const us = ((b.cpu - a.cpu) * 1e6) / n;
const result = { cpuUsPerRequest: Math.round(us), rps: t.rps, non2xx: t.non2xx, requests: b.requests - a.requests };
if (RATE > 0) Object.assign(result, { p50Ms: t.p50, p99Ms: t.p99, errors: t.errors });
if (THREADS) {
  // Per-thread µs per request; the audit writer is the busiest thread other than main.
  const rows = [];
  for (const [tid, after] of tb) {
    const spent = (after.cpuSeconds - (ta.get(tid)?.cpuSeconds ?? 0)) * 1e6;
    if (spent > 0) rows.push({ name: after.name, us: spent / n });
  }
  rows.sort((x, y) => (x.name === 'main' ? -1 : y.name === 'main' ? 1 : y.us - x.us));
  result.threadsUsPerRequest = rows.slice(0, 5).map((r) => `${r.name} ${r.us.toFixed(1)}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
