// Demo classifier figures: training time and held-out accuracy of the digits model over several
// seeds, single-row inference latency of the KServe v2 server (HTTPS, direct, no gateway), and the
// start-up time of the whole `rampart demo` (certificates, training, encrypted weights, servers,
// store, keys, gateway). Run after `npm run build`: node bench/demo-classifier.mjs [--rounds 5]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { trainDigits } from '../dist/demo/classifier/server.js';
import { runDemo } from '../dist/demo/index.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];

const train = [];
for (let i = 0; i < rounds; i++) {
  const t = trainDigits({ seed: 1000 + i });
  train.push({ ms: t.trainMs, acc: t.testAccuracy });
}
const hidden = trainDigits({ hidden: 32, epochs: 20 });

const starts = [];
let latencies = [];
for (let i = 0; i < Math.max(2, Math.ceil(rounds / 2)); i++) {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-demo-'));
  const t0 = performance.now();
  const demo = await runDemo({ dir: join(dir, 'd'), port: 0 });
  starts.push(performance.now() - t0);
  if (i === 0) {
    const agent = new Agent({ connect: { ca: readFileSync(demo.info.caCertFile) } });
    const url = demo.info.upstreams.find((u) => u.name === 'digits').url;
    const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(5) }] });
    for (let k = 0; k < 1100; k++) {
      const s = performance.now();
      const r = await request(`${url}/v2/models/digits/infer`, { method: 'POST', body, dispatcher: agent, headers: { 'content-type': 'application/json' } });
      await r.body.text();
      if (k >= 100) latencies.push(performance.now() - s);
    }
    await agent.close();
  }
  await demo.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(JSON.stringify({
  softmaxTrainMsMedian: Math.round(median(train.map((t) => t.ms))),
  softmaxAccuracy: train.map((t) => Number(t.acc.toFixed(4))),
  mlp32: { trainMs: Math.round(hidden.trainMs), accuracy: Number(hidden.testAccuracy.toFixed(4)) },
  inferMs: { p50: Number(median(latencies).toFixed(2)), p99: Number(pct(latencies, 0.99).toFixed(2)) },
  demoStartMs: starts.map((s) => Math.round(s)),
}, null, 2));
