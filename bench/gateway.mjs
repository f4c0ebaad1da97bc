// Gateway benchmark (issue 2). With TLS, API-key auth, a Cedar policy, quotas and the audit log all
// on, 1 KB JSON bodies and a local upstream, it measures in one run:
//   1. latency at a fixed rate (default 1,000 req/s) straight to the upstream, through the gateway
//      and through nginx `proxy_pass` (TLS): gateway-added latency = gateway − direct, per percentile;
//   2. maximum throughput with wrk (closed loop) for the same three targets, and for a bare Node.js
//      TLS proxy without any security layer (bench/node-proxy.mjs), the ceiling of the platform.
// Upstream, gateway, nginx and load generator each run in their own process.
// Usage (after `npm run build`): node bench/gateway.mjs [--rate 1000] [--seconds 10] [--connections 64] [--log-level warn]
//   [--workers 1|N|auto]  gateway processes (server.workers; default 1, the gateway's own default;
//   auto = one per CPU); nginx gets as many worker processes, so both use the same number of processes.
//   [--nginx-access-log]  adds a throughput target: nginx again with an access log, as Debian's nginx.conf has it.
//   [--rounds N]  both phases run N times (default 3), the targets taking turns within each round, so
//   that a noisy minute on a shared host falls on the gateway and nginx alike; the tables give each
//   target's median over the rounds, every round is listed, and the targets are judged on the median
//   of the per-round paired figures (gateway − direct in the same round, gateway / nginx in the same round).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStat, runLoad, writeBenchGatewayConfig, writeBenchPki } from './gateway-setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
if (!existsSync(join(ROOT, 'dist', 'gateway', 'index.js'))) {
  process.stderr.write('run `npm run build` first\n');
  process.exit(2);
}
const { createDevPki } = await import('../dist/tls/pki.js');
const { openStore } = await import('../dist/store/index.js');
const { createApiKey } = await import('../dist/auth/index.js');
const { silentLogger } = await import('../dist/core/logger.js');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RATE = Number(opt('rate', '1000'));
const SECONDS = Number(opt('seconds', '10'));
const CONNS = Number(opt('connections', '64'));
const LOG_LEVEL = opt('log-level', 'warn');
const WARMUP = Number(opt('warmup', '8'));
const WORKERS_OPT = opt('workers', '1');
const ROUNDS = Math.max(1, Math.floor(Number(opt('rounds', '3'))));
const WORKERS = WORKERS_OPT === 'auto' ? availableParallelism() : Number(WORKERS_OPT);

const tmp = mkdtempSync(join(tmpdir(), 'rampart-bench-gw-'));
const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Spawns a node script and resolves with its first stdout line. */
function startNode(script, argv, nodeFlags = []) {
  const c = spawn(process.execPath, [...nodeFlags, join(HERE, script), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    c.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function runWrk(url, luaFile, seconds = SECONDS) {
  const r = spawnSync('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', '-s', luaFile, url], { encoding: 'utf8', timeout: (seconds + 60) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const errs = /Socket errors: (.*)/.exec(r.stdout)?.[1] ?? 'none';
  const p50 = /50%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  const p99 = /99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1];
  return { rps, requests, non2xx, socketErrors: errs, p50, p99 };
}

/** CPU seconds (user + system) of a process and all its descendants, from /proc (Linux). */
function treeCpuSeconds(rootPid) {
  if (!rootPid || !existsSync('/proc')) return NaN;
  const stats = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const { ppid, cpuSeconds } = procStat(`/proc/${d}/stat`);
      stats.push({ pid: Number(d), ppid, cpu: cpuSeconds });
    } catch {
      // The process ended meanwhile.
    }
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of stats) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return stats.filter((p) => tree.has(p.pid)).reduce((a, p) => a + p.cpu, 0);
}

/** How loaded the machine is: ms for a fixed JS loop (about 70-100 ms on an idle core of this VM class). */
function calibrate() {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i;
  return { ms: performance.now() - t, x };
}

/** The gateway's own CPU seconds and request count, from its /metrics. */
async function gatewayCounters(url, ca) {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { ca } });
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

const calibBefore = calibrate().ms;

// --- set-up -------------------------------------------------------------------------------
const files = await writeBenchPki(tmp, createDevPki);

const upstreamPort = Number(await startNode('gateway-upstream.mjs', []));
const upstreamPid = children.at(-1).pid;
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

const config = writeBenchGatewayConfig({ tmp, files, upstreamUrl: upstreamUrl, logLevel: LOG_LEVEL, workers: WORKERS });
const store = await openStore(config.store, silentLogger());
const { key } = await createApiKey(store.keys, { principal: 'bench-client', roles: ['bench'] });
await store.close();

const PROFILE = opt('cpu-prof', '');
const gatewayUrl = await startNode('gateway-server.mjs', [join(tmp, 'rampart.json')], PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []);
const gatewayPid = children.at(-1).pid;
let nginxPid = null;

let nginxUrl = null;
let nginxLogUrl = null;
let nginxLogPid = null;
const nginxBin = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
/**
 * Starts nginx as a TLS proxy_pass to the upstream (keep-alive upstream connections). `accessLog`:
 * one line per request to a file, as Debian's /etc/nginx/nginx.conf has it (the gateway writes its
 * audit record for every request; nginx without a log is the stricter reference).
 */
async function startNginx(name, accessLog) {
  const dir = join(tmp, name);
  const port = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes ${WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${accessLog ? `${dir}/logs/access.log` : 'off'};
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream model { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${files.cert};
    ssl_certificate_key ${files.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const ng = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'inherit' });
  children.push(ng);
  await new Promise((r) => setTimeout(r, 500));
  return { url: `https://127.0.0.1:${port}`, pid: ng.pid };
}
if (nginxBin) {
  ({ url: nginxUrl, pid: nginxPid } = await startNginx('nginx', false));
  if (args.includes('--nginx-access-log')) ({ url: nginxLogUrl, pid: nginxLogPid } = await startNginx('nginx-log', true));
}
const NGINX_LOG = "nginx proxy_pass (TLS), access log on as in Debian's nginx.conf";

// The platform's ceiling: a bare Node.js TLS proxy (bench/node-proxy.mjs), throughput only.
const nodeProxyUrl = await startNode('node-proxy.mjs', [files.cert, files.key, upstreamUrl, String(WORKERS)]);
const nodeProxyPid = children.at(-1).pid;
const NODE_PROXY = 'bare Node.js proxy (node:https + undici, no security layers)';
// The floor under the gateway: its own HTTP/1.1 front and upstream client with none of its layers
// (bench/gateway-floor.mjs), one process, so only with --workers 1.
const FLOOR = "the gateway's HTTP stack alone (own front + client, no layers)";
const floorUrl = WORKERS === 1 ? await startNode('gateway-floor.mjs', ['--serve', join(ROOT, 'dist'), files.cert, files.key, upstreamUrl]) : null;
const floorPid = floorUrl ? children.at(-1).pid : null;

const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(1024 - 60) }] });
const headers = { authorization: `Bearer ${key}` };
const path = '/v1/chat/completions';

const haveWrk = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
const lua = join(tmp, 'post.lua');
writeFileSync(
  lua,
  `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${key}"\nwrk.path = "${path}"\n`,
);

// --- 1. latency at a fixed rate -----------------------------------------------------------
const targets = [
  ['direct (HTTP, no gateway)', upstreamUrl, undefined],
  ['rampart gateway (TLS + auth + Cedar + quotas + audit)', gatewayUrl, files.ca],
  ...(nginxUrl ? [['nginx proxy_pass (TLS)', nginxUrl, files.ca]] : []),
];
// --- 0. warm-up: the JIT of the gateway (and nginx's caches) before anything is measured --------
const wrkTargets = [...targets, ...(nginxLogUrl ? [[NGINX_LOG, nginxLogUrl, files.ca]] : []), [NODE_PROXY, nodeProxyUrl, files.ca], ...(floorUrl ? [[FLOOR, floorUrl, files.ca]] : [])];
if (haveWrk) for (const [, url] of wrkTargets) runWrk(url, lua, WARMUP);

/** Median of a list of numbers (the mean of the middle two for an even count). */
function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// The latency phase runs its rounds, then the throughput phase its own; within a round every target
// is measured once, one after another.
const latencyRounds = [];
const throughputRounds = [];
for (let round = 0; round < ROUNDS; round++) {
  const latency = {};
  for (const [name, url, ca] of targets) {
    latency[name] = runLoad({ url, path, rate: RATE, seconds: SECONDS, warmupSeconds: 3, ca, headers, body, connections: CONNS });
    process.stderr.write(`round ${round + 1} latency ${name}: ${JSON.stringify(latency[name])}\n`);
  }
  latencyRounds.push(latency);
}
for (let round = 0; round < ROUNDS && haveWrk; round++) {
  const throughput = {};
  for (const [name, url] of wrkTargets) {
    const pid = url === gatewayUrl ? gatewayPid : url === nginxUrl ? nginxPid : url === nginxLogUrl ? nginxLogPid : url === nodeProxyUrl ? nodeProxyPid : url === floorUrl ? floorPid : upstreamPid;
    const before = url === gatewayUrl ? await gatewayCounters(gatewayUrl, readFileSync(files.ca)) : null;
    const cpu0 = treeCpuSeconds(pid);
    throughput[name] = runWrk(url, lua);
    // CPU of the target's processes (all gateway processes; nginx master and workers) per request.
    throughput[name].cpuUsPerRequest = ((treeCpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, throughput[name].requests);
    if (before) {
      const after = await gatewayCounters(gatewayUrl, readFileSync(files.ca));
      throughput[name].gatewayCpuUsPerRequest = ((after.cpu - before.cpu) * 1e6) / Math.max(1, after.requests - before.requests);
    }
    process.stderr.write(`round ${round + 1} throughput ${name}: ${JSON.stringify(throughput[name])}\n`);
  }
  throughputRounds.push(throughput);
}

/** A target's figures, each the median over the rounds (wrk's latency strings: the median round's, by req/s). */
function medianOf(rounds, name) {
  const rs = rounds.map((r) => r[name]);
  const out = {};
  for (const k of Object.keys(rs[0])) out[k] = typeof rs[0][k] === 'number' ? median(rs.map((r) => r[k])) : rs[0][k];
  if (rs[0].rps !== undefined) {
    const byRps = [...rs].sort((a, b) => a.rps - b.rps)[(rs.length - 1) >> 1];
    for (const k of ['p50', 'p99', 'socketErrors']) out[k] = byRps[k];
    out.non2xx = rs.reduce((a, r) => a + r.non2xx, 0);
  }
  return out;
}
const latency = Object.fromEntries(targets.map(([name]) => [name, medianOf(latencyRounds, name)]));
const throughput = haveWrk ? Object.fromEntries(wrkTargets.map(([name]) => [name, medianOf(throughputRounds, name)])) : {};

const calibAfter = calibrate().ms;

// --- report --------------------------------------------------------------------------------
const f = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const ratioMedian = haveWrk && nginxUrl ? median(throughputRounds.map((r) => r[targets[1][0]].rps / r[targets[2][0]].rps)) : NaN;
const lines = [];
lines.push(`date ${new Date().toISOString()}  node ${process.version}  cpus ${cpus().length} × ${cpus()[0]?.model}  load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
lines.push(`machine load check: a 1e8-iteration JS loop took ${calibBefore.toFixed(0)} ms before and ${calibAfter.toFixed(0)} ms after the run (about 70-100 ms on an idle core)`);
lines.push(`fixed rate ${RATE} req/s for ${SECONDS}s, ${CONNS} connections, 1 KB request and response bodies, gateway log level ${LOG_LEVEL}, ${WORKERS} gateway process(es) (server.workers) and ${WORKERS} nginx worker(s)`);
lines.push(`${ROUNDS} round(s), targets in turn within each; tables: each target's median over the rounds`);
lines.push('');
lines.push('| target | achieved req/s | p50 ms | p90 ms | p99 ms | errors |');
lines.push('|---|---|---|---|---|---|');
for (const [name] of targets) {
  const l = latency[name];
  lines.push(`| ${name} | ${f(l.achievedRate)} | ${f(l.p50)} | ${f(l.p90)} | ${f(l.p99)} | ${l.errors + l.statusBad} |`);
}
// Added latency per round (the same round's direct figure subtracted), then its median.
const addedBy = (name, q) => latencyRounds.map((r) => r[name][q] - r[targets[0][0]][q]);
const list = (xs) => xs.map(f).join(', ');
const added50s = addedBy(targets[1][0], 'p50');
const added99s = addedBy(targets[1][0], 'p99');
lines.push('');
lines.push(`gateway-added latency: p50 ${f(median(added50s))} ms, p99 ${f(median(added99s))} ms (rounds: p50 ${list(added50s)}; p99 ${list(added99s)})`);
if (nginxUrl) {
  const n50 = addedBy(targets[2][0], 'p50');
  const n99 = addedBy(targets[2][0], 'p99');
  lines.push(`nginx-added latency:   p50 ${f(median(n50))} ms, p99 ${f(median(n99))} ms (rounds: p50 ${list(n50)}; p99 ${list(n99)})`);
}
if (haveWrk) {
  lines.push('');
  lines.push(`max throughput (wrk -t1 -c${CONNS} -d${SECONDS}s)`);
  lines.push('| target | req/s | p50 | p99 | CPU µs/request | non-2xx | socket errors |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const [name] of wrkTargets) {
    const t = throughput[name];
    lines.push(`| ${name} | ${f(t.rps)} | ${t.p50} | ${t.p99} | ${Number.isFinite(t.cpuUsPerRequest) ? t.cpuUsPerRequest.toFixed(0) : 'n/a'} | ${t.non2xx} | ${t.socketErrors} |`);
  }
  const gwT = throughput[targets[1][0]];
  if (gwT.gatewayCpuUsPerRequest) lines.push(`\ngateway CPU per request from its own /metrics (all its processes): ${gwT.gatewayCpuUsPerRequest.toFixed(0)} µs`);
  if (nginxUrl) {
    const per = throughputRounds.map((r) => `${f(r[targets[1][0]].rps / r[targets[2][0]].rps)} (${r[targets[1][0]].rps.toFixed(0)} / ${r[targets[2][0]].rps.toFixed(0)})`);
    lines.push(`\ngateway / nginx throughput: ${f(ratioMedian)}, the median of the rounds' ratios: ${per.join(', ')}`);
  }
  lines.push(`gateway / bare Node.js proxy throughput: ${(gwT.rps / throughput[NODE_PROXY].rps).toFixed(2)}`);
  if (nginxLogUrl) {
    const per = throughputRounds.map((r) => f(r[targets[1][0]].rps / r[NGINX_LOG].rps));
    lines.push(`gateway / nginx with its access log: ${f(median(throughputRounds.map((r) => r[targets[1][0]].rps / r[NGINX_LOG].rps)))} (rounds: ${per.join(', ')}; like for like: both record every request)`);
  }
  if (nginxUrl && floorUrl) lines.push(`gateway's HTTP stack alone / nginx throughput: ${f(median(throughputRounds.map((r) => r[FLOOR].rps / r[targets[2][0]].rps)))} (the floor under the gateway: what its front and client reach with no layer)`);
  if (nginxUrl) lines.push(`bare Node.js proxy / nginx throughput: ${(throughput[NODE_PROXY].rps / throughput[targets[2][0]].rps).toFixed(2)} (node:https + undici, the HTTP stack the gateway used before its own HTTP/1.1 front and upstream client)`);
}
// The issue's targets, judged on this run's figures.
const added50 = median(added50s);
const added99 = median(added99s);
const kept = latencyRounds.every((r) => r[targets[1][0]].achievedRate >= RATE * 0.98 && r[targets[1][0]].errors + r[targets[1][0]].statusBad === 0);
lines.push('');
lines.push(`target p50 added ≤ 1 ms at ${RATE} req/s: ${kept && added50 <= 1 ? 'met' : 'not met'} (${f(added50)} ms${kept ? '' : ', rate not sustained or errors'})`);
lines.push(`target p99 added ≤ 5 ms at ${RATE} req/s: ${kept && added99 <= 5 ? 'met' : 'not met'} (${f(added99)} ms)`);
if (haveWrk && nginxUrl) {
  const ratio = ratioMedian;
  lines.push(`target throughput ≥ 0.5 × nginx: ${ratio >= 0.5 ? 'met' : 'not met'} (${ratio.toFixed(2)})`);
}
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', `gateway-${Date.now()}.json`), JSON.stringify({ rate: RATE, seconds: SECONDS, workers: WORKERS, rounds: ROUNDS, calibBefore, calibAfter, latency, throughput, latencyRounds, throughputRounds }, null, 2));
process.exit(0);
