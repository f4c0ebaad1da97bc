// The floor under the gateway's throughput: its own HTTP/1.1 front (TLS) and upstream client with
// none of its layers (no authentication, Cedar, quotas, audit, metrics or JSON parsing) proxying the
// same 1 KB chat completions as bench/gateway-cpu.mjs, driven by the same wrk load. What the gateway
// costs above this figure is the price of its security layers and request handling.
// Usage (after `npm run build`): node bench/gateway-floor.mjs [--seconds 5] [--warmup 3] [--dist DIR]
// (The proxy itself runs as a child: node bench/gateway-floor.mjs --serve DIST CERT KEY UPSTREAM.)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { procStat, writeBenchPki } from './gateway-setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const d = (dist, p) => import(pathToFileURL(join(dist, p)).href);

if (args[0] === '--serve') {
  const [, dist, cert, key, upstream] = args;
  const { attachHttp1Front } = await d(dist, 'gateway/http1/server.js');
  const { createHttp1Pool } = await d(dist, 'gateway/http1/client.js');
  const { completeBody, readBody } = await d(dist, 'gateway/request.js');
  const pool = createHttp1Pool(new URL(upstream), { connections: 64 });
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' }, () => {});
  const handle = async (req, res) => {
    const body = completeBody(req, 1 << 20) ?? (await readBody(req, 1 << 20));
    const r = await pool.request({ method: 'POST', path: req.url, headers: { 'content-type': 'application/json' }, body });
    const whole = r.wholeBody(Number.POSITIVE_INFINITY) ?? Buffer.concat(await r.body.toArray());
    res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type']), 'content-length': String(whole.length) });
    res.end(whole);
  };
  attachHttp1Front(server, 'secureConnection', {
    headersTimeout: 10_000,
    requestTimeout: 0,
    keepAliveTimeout: 60_000,
    onRequest: (req, res) => void handle(req, res).catch(() => res.destroy()),
    timeoutAnswer: () => 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`https://127.0.0.1:${server.address().port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const DIST = resolve(opt('dist', join(HERE, '..', 'dist')));
  const SECONDS = Number(opt('seconds', '5'));
  const WARMUP = Number(opt('warmup', '3'));
  const { createDevPki } = await d(DIST, 'tls/pki.js');
  const tmp = mkdtempSync(join(tmpdir(), 'rampart-bench-floor-'));
  const children = [];
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  });
  const start = (argv) =>
    new Promise((res, rej) => {
      const c = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(c);
      c.stdout.once('data', (x) => res([c, String(x).trim()]));
      c.on('exit', (code) => rej(new Error(`${argv[0]} exited with ${code}`)));
    });
  const files = await writeBenchPki(tmp, createDevPki);
  const [, upPort] = await start([join(HERE, 'gateway-upstream.mjs')]);
  const [proxy, url] = await start([fileURLToPath(import.meta.url), '--serve', DIST, files.cert, files.key, `http://127.0.0.1:${upPort}`]);
  const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(1024 - 60) }] });
  const lua = join(tmp, 'post.lua');
  writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.path = "/v1/chat/completions"\n`);
  const wrk = (s) => spawnSync('wrk', ['-t1', '-c64', `-d${s}s`, '-s', lua, url], { encoding: 'utf8' }).stdout;
  // CPU of the proxy process (all its threads), from /proc.
  const cpu = () => procStat(`/proc/${proxy.pid}/stat`).cpuSeconds;
  wrk(WARMUP);
  const c0 = cpu();
  const out = wrk(SECONDS);
  const c1 = cpu();
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  process.stdout.write(`${JSON.stringify({ rps, cpuUsPerRequest: Math.round(((c1 - c0) * 1e6) / Math.max(1, requests)), requests })}\n`);
  process.exit(0);
}
