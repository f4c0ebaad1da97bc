// Per-request costs of the gateway's layers on the paths it takes under load, each in a loop of its
// own (median of 5 rounds): the sync API-key check of a cached key, a cached Cedar decision for the
// shared frozen principal, quota acquire + release on the write-behind counters, the six metric
// updates of a request, and the audit thread's serialisation of a record handed over as a tuple
// (tupleRecordJson against rebuilding the record and serialising it).
// Run after `npm run build`:  node bench/gateway-parts.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditBody } from '../dist/audit/audit-log.js';
import { tupleRecordJson } from '../dist/audit/canonical-json.js';
import { fromTuple, toTuple } from '../dist/audit/record-tuple.js';
import { createAuthenticator, createApiKey } from '../dist/auth/index.js';
import { authSchema, modelSchema, quotasSchema } from '../dist/config/schema.js';
import { silentLogger } from '../dist/core/logger.js';
import { createMetrics } from '../dist/gateway/metrics.js';
import { loadPolicyEngine } from '../dist/policy/index.js';
import { createQuotaManager, WriteBehindCounters } from '../dist/quota/index.js';
import { openStore } from '../dist/store/index.js';
import { gatewayAuditRecord } from './audit-record.mjs';

const N = Number(process.env.BENCH_N ?? 300_000);
function measure(name, f) {
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) f(i);
    rounds.push(((performance.now() - t0) * 1000) / N);
  }
  console.log(`${name.padEnd(52)} ${rounds.sort((a, b) => a - b)[2].toFixed(3)} µs`);
}

const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-parts-'));
try {
  const store = await openStore({ type: 'sqlite', path: join(dir, 'bench.db') }, silentLogger());
  const { key } = await createApiKey(store.keys, { principal: 'bench-client', roles: ['bench'] });
  const authn = createAuthenticator(authSchema.parse({}), store.keys, silentLogger());
  const input = { authorization: `Bearer ${key}`, sourceIp: '127.0.0.1' };
  const principal = await authn.authenticate(input); // caches the key record
  measure('authenticateSync (API key, record cached)', () => authn.authenticateSync(input));

  // The policies and model of bench/gateway-setup.mjs.
  const models = [modelSchema.parse({ name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:9' }, attributes: { environment: 'bench', sensitivity: 'internal' } })];
  const pol = join(dir, 'policy.cedar');
  writeFileSync(
    pol,
    `@id("bench-invoke")\npermit (principal in Rampart::Role::"bench", action == Rampart::Action::"invoke", resource)\nwhen { resource.environment == "bench" };\n` +
      `@id("no-restricted")\nforbid (principal, action, resource) when { resource has sensitivity && resource.sensitivity == "restricted" };\n`,
  );
  const engine = loadPolicyEngine({ files: [pol] }, models);
  measure('authorize (shared principal, decision cached)', () =>
    engine.authorize({ principal, action: 'invoke', model: 'chat', context: { time: new Date(), sourceIp: '127.0.0.1', route: 'openai.chat.completions', method: 'POST', attributes: { stream: false } } }),
  );

  const counters = new WriteBehindCounters(store.counters, { logger: silentLogger() });
  const quotas = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 1e8, concurrent: 100_000, tokensPerMinute: 1e12 } }), models, counters);
  const qr = { principal: principal.id, model: 'chat', countsTokens: true };
  (await quotas.acquire(qr)).release(null); // loads the counters into memory
  const usage = { promptTokens: 200, completionTokens: 180, totalTokens: 380 };
  // A window not in memory yet (a new minute) sends the gateway down the async path once, as here.
  const rounds = [];
  let misses = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const lease = quotas.tryAcquireSync(qr);
      if (lease !== undefined) lease.release(usage);
      else {
        misses++;
        (await quotas.acquire(qr)).release(usage);
      }
    }
    rounds.push(((performance.now() - t0) * 1000) / N);
  }
  console.log(`${'quota tryAcquireSync + release (write-behind)'.padEnd(52)} ${rounds.sort((a, b) => a - b)[2].toFixed(3)} µs (${misses} async)`);

  const m = createMetrics(false);
  measure("a request's six metric updates", () => {
    m.requestsFor('openai.chat.completions', 'chat', 'allow', 200).inc();
    m.durationFor('openai.chat.completions', 'chat').observe(0.0012);
    m.upstreamDurationFor('chat').observe(0.0008);
    m.inflight.inc();
    m.inflight.dec();
    m.tokensFor('chat', 'prompt').inc(200);
    m.tokensFor('chat', 'completion').inc(180);
  });

  const tuples = Array.from({ length: 1000 }, (_, i) => structuredClone(toTuple(gatewayAuditRecord(i))));
  measure('audit thread: fromTuple + auditBody', (i) => auditBody(fromTuple(tuples[i % 1000]), false));
  measure('audit thread: tupleRecordJson', (i) => tupleRecordJson(tuples[i % 1000]));

  await counters.close?.();
  await authn.close();
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
