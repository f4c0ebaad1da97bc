// Open-loop load generator for bench/gateway.mjs: sends POST requests at a fixed rate over a pool
// of keep-alive (TLS) connections with undici and prints latency percentiles as JSON. Latency is
// measured from the moment each request was due, so a stall of the target is not hidden
// (no coordinated omission). Runs in its own process.
// Usage: node bench/gateway-load.mjs '{"url":..., "path":..., "rate":1000, "seconds":10, "ca":PEMFILE?, "headers":{}, "body":"..."}'
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { openLoop } from './open-loop.mjs';

const o = JSON.parse(process.argv[2]);
const origin = new URL(o.url).origin;
const pool = new Pool(origin, {
  connections: o.connections ?? 32,
  pipelining: 1,
  connect: o.ca ? { ca: readFileSync(o.ca), servername: 'localhost' } : {},
});
const body = o.body;
const headers = { 'content-type': 'application/json', ...o.headers };
const lat = [];
let errors = 0;
let statusBad = 0;

async function one(due) {
  try {
    const r = await pool.request({ path: o.path, method: 'POST', headers, body });
    await r.body.dump();
    if (r.statusCode !== 200) statusBad++;
    lat.push(performance.now() - due);
  } catch {
    errors++;
  }
}

const phase = (rate, seconds) => openLoop(rate, seconds, one);

// Warm up at the same rate (connections, TLS handshakes, and the JIT of this process and of the
// target), then measure.
await phase(o.rate, o.warmupSeconds ?? 3);
lat.length = 0;
errors = statusBad = 0;
const { sent, elapsed } = await phase(o.rate, o.seconds);
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
process.stdout.write(
  JSON.stringify({ sent, completed: lat.length, errors, statusBad, achievedRate: lat.length / elapsed, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.at(-1) }) + '\n',
);
await pool.close();
