// Gateway benchmark (issue 2). With TLS, API-key auth, a Cedar policy, quotas and the audit log all
// on, 1 KB JSON bodies and a local upstream, it measures in one run:
//   1. latency at a fixed rate (default 1,000 req/s) straight to the upstream, through the gateway
//      and through nginx `proxy_pass` (TLS): gateway-added latency = gateway − direct, per percentile;
//   2. maximum throughput with wrk (closed loop) for the same three targets, and for a bare Node.js
//      TLS proxy without any security layer (bench/node-proxy.mjs), the ceiling of the platform.
// Upstream, gateway, nginx and load generator each run in their own process.
// Usage (after `npm run build`): node bench/gateway.mjs [--rate 1000] [--seconds 10] [--connections 64] [--log-level warn]
//   [--workers auto|N]  gateway processes (server.workers; default auto = one per CPU); nginx gets as many
//   worker processes, so both use the same number of processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchGatewayConfig, writeBenchPki } from './gateway-setup.mjs';

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
const WORKERS_OPT = opt('workers', 'auto');
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

function runLoad(spec) {
  const r = spawnSync(process.execPath, [join(HERE, 'gateway-load.mjs'), JSON.stringify(spec)], { encoding: 'utf8', timeout: (SECONDS * 10 + 60) * 1000 });
  if (r.status !== 0) throw new Error(`load generator failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
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
      const t = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15).
      const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(d), ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
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
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

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
const nginxBin = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
if (nginxBin) {
  const port = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(tmp, d), { recursive: true });
  writeFileSync(
    join(tmp, 'nginx.conf'),
    `worker_processes ${WORKERS};
pid ${tmp}/nginx.pid;
error_log ${tmp}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
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
  const ng = spawn(nginxBin, ['-p', tmp, '-c', join(tmp, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'inherit' });
  children.push(ng);
  nginxPid = ng.pid;
  await new Promise((r) => setTimeout(r, 500));
  nginxUrl = `https://127.0.0.1:${port}`;
}

// The platform's ceiling: a bare Node.js TLS proxy (bench/node-proxy.mjs), throughput only.
const nodeProxyUrl = await startNode('node-proxy.mjs', [files.cert, files.key, upstreamUrl, String(WORKERS)]);
const nodeProxyPid = children.at(-1).pid;
const NODE_PROXY = 'bare Node.js proxy (node:https + undici, no security layers)';

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
const wrkTargets = [...targets, [NODE_PROXY, nodeProxyUrl, files.ca]];
if (haveWrk) for (const [, url] of wrkTargets) runWrk(url, lua, WARMUP);

const latency = {};
for (const [name, url, ca] of targets) {
  latency[name] = runLoad({ url, path, rate: RATE, seconds: SECONDS, warmupSeconds: 3, ca, headers, body, connections: CONNS });
  process.stderr.write(`latency ${name}: ${JSON.stringify(latency[name])}\n`);
}

// --- 2. maximum throughput ----------------------------------------------------------------
const throughput = {};
if (haveWrk) {
  for (const [name, url] of wrkTargets) {
    const pid = url === gatewayUrl ? gatewayPid : url === nginxUrl ? nginxPid : url === nodeProxyUrl ? nodeProxyPid : upstreamPid;
    const before = url === gatewayUrl ? await gatewayCounters(gatewayUrl, readFileSync(files.ca)) : null;
    const cpu0 = treeCpuSeconds(pid);
    throughput[name] = runWrk(url, lua);
    // CPU of the target's processes (all gateway processes; nginx master and workers) per request.
    throughput[name].cpuUsPerRequest = ((treeCpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, throughput[name].requests);
    if (before) {
      const after = await gatewayCounters(gatewayUrl, readFileSync(files.ca));
      throughput[name].gatewayCpuUsPerRequest = ((after.cpu - before.cpu) * 1e6) / Math.max(1, after.requests - before.requests);
    }
    process.stderr.write(`throughput ${name}: ${JSON.stringify(throughput[name])}\n`);
  }
}

const calibAfter = calibrate().ms;

// --- report --------------------------------------------------------------------------------
const f = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const direct = latency[targets[0][0]];
const gw = latency[targets[1][0]];
const lines = [];
lines.push(`date ${new Date().toISOString()}  node ${process.version}  cpus ${cpus().length} × ${cpus()[0]?.model}  load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
lines.push(`machine load check: a 1e8-iteration JS loop took ${calibBefore.toFixed(0)} ms before and ${calibAfter.toFixed(0)} ms after the run (about 70-100 ms on an idle core)`);
lines.push(`fixed rate ${RATE} req/s for ${SECONDS}s, ${CONNS} connections, 1 KB request and response bodies, gateway log level ${LOG_LEVEL}, ${WORKERS} gateway process(es) (server.workers) and ${WORKERS} nginx worker(s)`);
lines.push('');
lines.push('| target | achieved req/s | p50 ms | p90 ms | p99 ms | errors |');
lines.push('|---|---|---|---|---|---|');
for (const [name] of targets) {
  const l = latency[name];
  lines.push(`| ${name} | ${f(l.achievedRate)} | ${f(l.p50)} | ${f(l.p90)} | ${f(l.p99)} | ${l.errors + l.statusBad} |`);
}
lines.push('');
lines.push(`gateway-added latency: p50 ${f(gw.p50 - direct.p50)} ms, p99 ${f(gw.p99 - direct.p99)} ms`);
if (nginxUrl) {
  const ng = latency[targets[2][0]];
  lines.push(`nginx-added latency:   p50 ${f(ng.p50 - direct.p50)} ms, p99 ${f(ng.p99 - direct.p99)} ms`);
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
  if (nginxUrl) lines.push(`\ngateway / nginx throughput: ${(throughput[targets[1][0]].rps / throughput[targets[2][0]].rps).toFixed(2)}`);
  lines.push(`gateway / bare Node.js proxy throughput: ${(gwT.rps / throughput[NODE_PROXY].rps).toFixed(2)}`);
  if (nginxUrl) lines.push(`bare Node.js proxy / nginx throughput: ${(throughput[NODE_PROXY].rps / throughput[targets[2][0]].rps).toFixed(2)} (node:https + undici, the HTTP stack the gateway used before its own HTTP/1.1 front and upstream client)`);
}
// The targets, judged on this run's figures.
const added50 = gw.p50 - direct.p50;
const added99 = gw.p99 - direct.p99;
const kept = gw.achievedRate >= RATE * 0.98 && gw.errors + gw.statusBad === 0;
lines.push('');
lines.push(`target p50 added ≤ 1 ms at ${RATE} req/s: ${kept && added50 <= 1 ? 'met' : 'not met'} (${f(added50)} ms${kept ? '' : ', rate not sustained or errors'})`);
lines.push(`target p99 added ≤ 5 ms at ${RATE} req/s: ${kept && added99 <= 5 ? 'met' : 'not met'} (${f(added99)} ms)`);
if (haveWrk && nginxUrl) {
  const ratio = throughput[targets[1][0]].rps / throughput[targets[2][0]].rps;
  lines.push(`target throughput ≥ 0.5 × nginx: ${ratio >= 0.5 ? 'met' : 'not met'} (${ratio.toFixed(2)})`);
}
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', `gateway-${Date.now()}.json`), JSON.stringify({ rate: RATE, seconds: SECONDS, workers: WORKERS, calibBefore, calibAfter, latency, throughput }, null, 2));
process.exit(0);
