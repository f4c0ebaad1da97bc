// Reference contender for bench/gateway.mjs: the smallest Node.js TLS reverse proxy that does what
// the gateway's data path does with none of its security layers: node:https (keep-alive, TLS 1.2+),
// the request body read whole, an undici Pool to the upstream, the response read whole and sent in
// one write. Its throughput is what node:https and undici allow on this machine: the HTTP stack the
// gateway itself used until it got its own HTTP/1.1 front (src/gateway/http1/server.ts) and
// upstream client (src/gateway/http1/client.ts).
// Usage: node bench/node-proxy.mjs CERT KEY UPSTREAM_URL PROCESSES  (prints its URL on stdout)
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { Pool } from 'undici';

const [cert, key, upstream, processes] = process.argv.slice(2);
const n = Math.max(1, Number(processes) || 1);

if (cluster.isPrimary && n > 1) {
  cluster.setupPrimary({ silent: false });
  let listening = 0;
  for (let i = 0; i < n; i++) {
    cluster.fork().on('message', (m) => {
      if (typeof m === 'string' && ++listening === n) process.stdout.write(`${m}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const pool = new Pool(upstream, { connections: 64, keepAliveTimeout: 30_000 });
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2', keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const headers = { 'content-type': req.headers['content-type'] ?? 'application/json', 'accept-encoding': 'identity' };
      pool
        .request({ method: req.method, path: req.url, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined })
        .then(async (r) => {
          const out = [];
          for await (const c of r.body) out.push(c);
          const body = Buffer.concat(out);
          res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json'), 'content-length': body.length });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  });
  server.listen(Number(process.env.NODE_PROXY_PORT ?? 0), '127.0.0.1', () => {
    const url = `https://127.0.0.1:${server.address().port}`;
    if (process.send) process.send(url);
    else process.stdout.write(`${url}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
