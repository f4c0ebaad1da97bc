// Cost of the IPC between gateway workers and their primary (server.workers > 1; src/gateway/cluster-ipc.ts):
// a worker makes what the gateway makes per request (a quota acquire answered by the primary, its
// release, and one audit record of the usual size) with no HTTP at all, and both processes report
// their CPU time, so the figures are the IPC's own CPU cost per request, in the worker and in the
// primary. The primary answers at once (no quota arithmetic, no audit hashing or SQLite).
// Usage (after `npm run build`): node bench/gateway-ipc.mjs [--concurrency 64] [--requests 100000]
//   --concurrency 1 shows the cost with no batching (one request in flight at a time).
import cluster from 'node:cluster';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const CONC = Number(opt('concurrency', '64'));
const N = Number(opt('requests', '100000'));
const { PrimaryLink, isOurs, TAG } = await import('../dist/gateway/cluster-ipc.js');

const record = {
  id: '2fd45d40-01ab-41cc-884e-2be0191544f4',
  time: '2026-11-28T22:39:38.313Z',
  principal: 'bench-client',
  authMethod: 'api-key',
  model: 'chat',
  action: 'invoke',
  route: 'openai.chat.completions',
  method: 'POST',
  path: '/v1/chat/completions',
  sourceIp: '127.0.0.1',
  decision: 'allow',
  policyIds: ['bench-invoke'],
  errorCode: null,
  status: 200,
  latencyMs: 1.234,
  upstreamMs: 0.9,
  bytesIn: 1024,
  bytesOut: 1100,
  usage: { promptTokens: 200, completionTokens: 180, totalTokens: 380 },
};

if (cluster.isPrimary) {
  const w = cluster.fork();
  let messages = 0;
  let records = 0;
  let c0 = null;
  w.on('message', (m) => {
    if (m.go) {
      c0 = process.cpuUsage();
      messages = records = 0;
      return;
    }
    if (m.done) {
      const c = process.cpuUsage(c0);
      const out = {
        concurrency: CONC,
        requests: N,
        workerCpuUsPerRequest: +(m.cpuUs / N).toFixed(2),
        primaryCpuUsPerRequest: +((c.user + c.system) / N).toFixed(2),
        messagesToPrimaryPerRequest: +(messages / N).toFixed(2),
        records,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      w.kill();
      process.exit(0);
    }
    if (!isOurs(m)) return;
    messages++;
    const answers = [];
    for (const op of m.ops) {
      if (op[0] === 'acquire') answers.push([op[1], true]);
      else if (op[0] === 'record') records++;
    }
    if (answers.length) w.send({ t: TAG, answers });
  });
} else {
  const link = new PrimaryLink((m) => process.send(m));
  process.on('message', (m) => {
    if (isOurs(m) && m.answers) link.onAnswers(m.answers);
  });
  const one = async () => {
    const lease = await link.quotas.acquire({ principal: 'bench-client', model: 'chat', countsTokens: true });
    lease.release(null);
    link.audit.record({ ...record });
  };
  const run = async (n) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (i++ < n) await one();
      }),
    );
  };
  await run(Math.min(N, 20_000)); // warm-up (JIT)
  await new Promise((r) => setTimeout(r, 100));
  process.send({ go: true });
  await new Promise((r) => setTimeout(r, 50));
  const c0 = process.cpuUsage();
  await run(N);
  const c = process.cpuUsage(c0);
  await new Promise((r) => setTimeout(r, 100));
  process.send({ done: true, cpuUs: c.user + c.system });
}
