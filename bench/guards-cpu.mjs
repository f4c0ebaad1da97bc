// Does a route with no applicable guard cost anything? (docs/guards.md: "with guards that do not
// apply to a route and model, one map lookup".) Two gateways with the set-up of bench/gateway-cpu.mjs
// (TLS, API key, Cedar, quotas, SQLite store, audit; bench/gateway-setup.mjs) run side by side in
// front of the same 1 KB chat upstream: one with no guards, one with every guard kind configured
// for other routes and models (pii and prompt-injection on another OpenAI model, extraction,
// output-hardening and predictions, which only run on KServe routes). wrk drives chat requests at
// each in turn, several rounds, and the gateways' own CPU time per request is read from /metrics.
// Usage (after `npm run build`): node bench/guards-cpu.mjs [--rounds 4] [--seconds 8] [--warmup 5]
//   [--connections 16] [--dist DIR]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
const ROUNDS = Number(opt('rounds', '4'));
const SECONDS = Number(opt('seconds', '8'));
const WARMUP = Number(opt('warmup', '5'));
const CONNS = Number(opt('connections', '16'));

const d = (p) => import(pathToFileURL(join(DIST, p)).href);
const { createDevPki } = await d('tls/pki.js');
const { openStore } = await d('store/index.js');
const { createApiKey } = await d('auth/index.js');
const { silentLogger } = await d('core/logger.js');

const tmp = mkdtempSync(join(tmpdir(), 'rampart-bench-guardcpu-'));
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function startNode(script, argv) {
  const c = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
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
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

const server = join(HERE, 'gateway-server.mjs');

/** One gateway in its own folder (own store) with `guards`; resolves with its URL and API key. */
async function gateway(name, guards) {
  const dir = join(tmp, name);
  spawnSync('mkdir', ['-p', dir]);
  const config = writeBenchGatewayConfig({ tmp: dir, files, upstreamUrl, logLevel: 'warn', workers: 1 });
  // Models the guards are configured for; never called in this benchmark.
  config.models.push({ name: 'chat-guarded', protocol: 'openai', upstream: { url: upstreamUrl }, attributes: { environment: 'bench' } });
  config.models.push({ name: 'digits', protocol: 'kserve-v2', upstream: { url: upstreamUrl }, attributes: { environment: 'bench' } });
  config.guards = guards;
  writeFileSync(join(dir, 'rampart.json'), JSON.stringify(config));
  const store = await openStore(config.store, silentLogger());
  const { key } = await createApiKey(store.keys, { principal: 'bench-client', roles: ['bench'] });
  await store.close();
  const url = await startNode(server, [join(dir, 'rampart.json'), DIST]);
  const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(1024 - 60) }] });
  const lua = join(dir, 'post.lua');
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${key}"\nwrk.path = "/v1/chat/completions"\n`,
  );
  return { name, url, lua, runs: [] };
}

function wrk(g, seconds) {
  const r = spawnSync('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '-s', g.lua, g.url], { encoding: 'utf8' });
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0) };
}

async function counters(g) {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: readFileSync(files.ca) } });
  try {
    const r = await request(`${g.url}/metrics`, { dispatcher });
    const text = await r.body.text();
    const cpu = Number(/^rampart_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1]);
    let requests = 0;
    for (const m of text.matchAll(/^rampart_gateway_requests_total\{[^}]*route="openai.chat.completions"[^}]*\} (\S+)$/gm)) requests += Number(m[1]);
    const guardLines = text.split('\n').filter((l) => l.startsWith('rampart_guard_verdicts_total{')).length;
    return { cpu, requests, guardLines };
  } finally {
    await dispatcher.close();
  }
}

const load0 = loadavg();
const gws = [
  await gateway('none', []),
  await gateway('other-routes', [
    { type: 'prompt-injection', models: ['chat-guarded'] },
    { type: 'pii', models: ['chat-guarded'] },
    { type: 'extraction' },
    { type: 'output-hardening' },
    { type: 'predictions' },
  ]),
];
for (const g of gws) wrk(g, WARMUP);
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order, so a change of the machine's load hits both alike.
  for (const g of round % 2 ? [...gws].reverse() : gws) {
    const a = await counters(g);
    const t = wrk(g, SECONDS);
    const b = await counters(g);
    const n = b.requests - a.requests;
    g.runs.push({ us: ((b.cpu - a.cpu) * 1e6) / Math.max(1, n), rps: t.rps, non2xx: t.non2xx, guardVerdicts: b.guardLines });
    process.stderr.write(`${g.name} round ${round}: ${JSON.stringify(g.runs.at(-1))}\n`);
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const lines = [];
lines.push(`date ${new Date().toISOString()}  load average ${load0.map((l) => l.toFixed(1)).join(' ')} before, ${loadavg().map((l) => l.toFixed(1)).join(' ')} after`);
lines.push(`wrk -t1 -c${CONNS}, ${ROUNDS} rounds of ${SECONDS} s per gateway, alternating; 1 KB chat requests`);
lines.push('');
lines.push('| gateway | CPU µs/request per round | median | req/s per round | guard verdict series in /metrics |');
lines.push('|---|---|---|---|---|');
for (const g of gws) {
  lines.push(`| ${g.name} | ${g.runs.map((r) => r.us.toFixed(0)).join(' · ')} | ${median(g.runs.map((r) => r.us)).toFixed(0)} | ${g.runs.map((r) => r.rps.toFixed(0)).join(' · ')} | ${g.runs.at(-1).guardVerdicts} |`);
}
// The same question in process, free of scheduling noise: the CPU of the pipeline's selection
// for a chat request when no configured guard applies (all the handler adds on such a route).
{
  const { GuardPipeline } = await d('guards/pipeline.js');
  const { parseConfig } = await d('config/load.js');
  const cfg = parseConfig(JSON.parse(readFileSync(join(tmp, 'other-routes', 'rampart.json'), 'utf8')), tmp);
  const st = await openStore({ type: 'sqlite', path: ':memory:' }, silentLogger());
  const p = await GuardPipeline.build(cfg.guards, { logger: silentLogger(), store: st, emit: () => undefined, baseDir: tmp, models: cfg.models });
  const N = 2_000_000;
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (p.select('openai.chat.completions', 'openai', 'chat') !== null) hits++;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) if (p.select('openai.chat.completions', 'openai', 'chat') !== null) hits++;
  const c = process.cpuUsage(c0);
  lines.push(`in process: GuardPipeline.select() for a route and model no guard applies to: ${(((c.user + c.system) * 1000) / N).toFixed(0)} ns of CPU per request (${N} calls, ${hits} selections)`);
  await p.close();
  await st.close();
}
const m0 = median(gws[0].runs.map((r) => r.us));
const m1 = median(gws[1].runs.map((r) => r.us));
lines.push('');
lines.push(`difference of medians: ${(m1 - m0).toFixed(0)} µs/request (${(((m1 - m0) / m0) * 100).toFixed(1)}%)`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
