// Open-loop load generator for bench/guards.mjs: the generator of bench/gateway-load.mjs (fixed
// rate over keep-alive TLS connections, each request timed from the moment it was due, so a stall
// of the target is not hidden), extended with what the guard benchmark needs:
// - a rotation of API keys (principals) and bodies: request i goes out with key i mod K and, per
//   principal, the bodies in order (body (offset + floor(i / K)) mod B), so each principal sends
//   real rows in data-set order, as a legitimate client does;
// - the guards' own times from each response's `x-rampart-guards` header (p50/p99 per guard and phase);
// - the gateway's CPU seconds and request count from its /metrics just before and after the
//   measured phase (CPU per request is meaningful on a loaded machine, latency much less so).
// Usage: node bench/guards-load.mjs SPECFILE   (JSON: url, path, rate, seconds, warmupSeconds, ca,
//   keys[], bodies[], offset, connections, metricsPath)
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { openLoop } from './open-loop.mjs';

const o = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const origin = new URL(o.url).origin;
const pool = new Pool(origin, {
  connections: o.connections ?? 32,
  pipelining: 1,
  connect: o.ca ? { ca: readFileSync(o.ca), servername: 'localhost' } : {},
});
const keys = o.keys;
const bodies = o.bodies;
const headersByKey = keys.map((k) => ({ 'content-type': 'application/json', authorization: `Bearer ${k}` }));
let next = 0;
const lat = [];
/** Guard name (and phase) → its times from the header, ms. */
const guardMs = new Map();
let errors = 0;
const statuses = {};
let recordGuards = false;

function noteGuards(h) {
  if (typeof h !== 'string' || !recordGuards) return;
  for (const entry of h.split(',')) {
    const parts = entry.trim().split(';');
    let phase = 'request';
    let dur = NaN;
    for (const p of parts.slice(1)) {
      if (p.startsWith('phase=')) phase = p.slice(6);
      else if (p.startsWith('dur=')) dur = Number(p.slice(4));
    }
    if (!Number.isFinite(dur)) continue;
    const k = phase === 'request' ? parts[0] : `${parts[0]} (${phase})`;
    let a = guardMs.get(k);
    if (!a) guardMs.set(k, (a = []));
    a.push(dur);
  }
}

async function one(due) {
  const i = next++;
  const k = i % keys.length;
  const body = bodies[((o.offset ?? 0) + Math.floor(i / keys.length)) % bodies.length];
  try {
    const r = await pool.request({ path: o.path, method: 'POST', headers: headersByKey[k], body });
    await r.body.dump();
    statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
    noteGuards(r.headers['x-rampart-guards']);
    lat.push(performance.now() - due);
  } catch {
    errors++;
  }
}

const phase = (rate, seconds) => openLoop(rate, seconds, one);

/** The gateway's CPU seconds (all its processes) and requests served, from /metrics. */
async function counters() {
  if (!o.metricsPath) return null;
  const r = await pool.request({ path: o.metricsPath, method: 'GET' });
  const text = await r.body.text();
  const cpu = Number(/^rampart_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1]);
  let requests = 0;
  for (const m of text.matchAll(/^rampart_gateway_requests_total\{[^}]*\} (\S+)$/gm)) requests += Number(m[1]);
  // Stream filters are not in the header (it is sent before the body): their histogram is.
  const hist = {};
  for (const m of text.matchAll(/^rampart_guard_duration_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const k = `${labels.guard}\u0000${labels.phase}`;
    const h = (hist[k] ??= { guard: labels.guard, phase: labels.phase, buckets: [], sum: 0, count: 0 });
    if (m[1] === 'bucket') h.buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le), Number(m[3])]);
    else h[m[1]] = Number(m[3]);
  }
  return { cpu, requests, hist };
}

await phase(o.rate, o.warmupSeconds ?? 5);
lat.length = 0;
errors = 0;
for (const k of Object.keys(statuses)) delete statuses[k];
recordGuards = true;
const before = await counters();
const { sent, elapsed } = await phase(o.rate, o.seconds);
const after = await counters();
lat.sort((a, b) => a - b);
const q = (a, p) => a[Math.min(a.length - 1, Math.floor(p * a.length))] ?? NaN;
const guards = {};
for (const [k, a] of guardMs) {
  a.sort((x, y) => x - y);
  guards[k] = { n: a.length, p50: q(a, 0.5), p99: q(a, 0.99) };
}
// Histogram deltas over the measured phase (stream filters): mean, and p50/p99 as bucket upper bounds.
const histograms = {};
if (before && after) {
  for (const [k, h] of Object.entries(after.hist)) {
    const b = before.hist[k];
    const count = h.count - (b?.count ?? 0);
    if (count <= 0) continue;
    const cum = h.buckets.map(([le, c], j) => [le, c - (b?.buckets[j]?.[1] ?? 0)]).sort((x, y) => x[0] - y[0]);
    const at = (p) => (cum.find(([, c]) => c >= p * count)?.[0] ?? Infinity) * 1000;
    histograms[`${h.guard}\u0000${h.phase}`] = { guard: h.guard, phase: h.phase, count, meanMs: ((h.sum - (b?.sum ?? 0)) / count) * 1000, p50LeMs: at(0.5), p99LeMs: at(0.99) };
  }
}
process.stdout.write(
  JSON.stringify({
    sent,
    completed: lat.length,
    errors,
    statuses,
    achievedRate: lat.length / elapsed,
    p50: q(lat, 0.5),
    p90: q(lat, 0.9),
    p99: q(lat, 0.99),
    max: lat.at(-1),
    guards,
    histograms,
    cpuUsPerRequest: before && after ? ((after.cpu - before.cpu) * 1e6) / Math.max(1, after.requests - before.requests) : null,
    gatewayRequests: before && after ? after.requests - before.requests : null,
  }) + '\n',
);
await pool.close();
