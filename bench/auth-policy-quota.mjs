// Per-request cost of the gateway's pre-guards: API-key authentication (SQLite store), Cedar
// authorization (cached and uncached decisions) and quota acquire/release.
// Run after `npm run build`:  node bench/auth-policy-quota.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator, createApiKey } from '../dist/auth/index.js';
import { authSchema, modelSchema, quotasSchema } from '../dist/config/schema.js';
import { silentLogger } from '../dist/core/logger.js';
import { loadPolicyEngine } from '../dist/policy/index.js';
import { createQuotaManager } from '../dist/quota/index.js';
import { openStore } from '../dist/store/index.js';

const N = Number(process.env.BENCH_N ?? 20000);

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5).toFixed(4), p99: q(0.99).toFixed(4), mean: (s.reduce((a, b) => a + b, 0) / s.length).toFixed(4) };
}

async function measure(name, fn) {
  for (let i = 0; i < Math.min(2000, N / 10); i++) await fn(i);
  const t = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn(i);
    t.push(performance.now() - t0);
  }
  console.log(name.padEnd(44), JSON.stringify(stats(t)), 'ms');
}

const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
try {
  const store = await openStore({ type: 'sqlite', path: join(dir, 'bench.db') }, silentLogger());
  const { key } = await createApiKey(store.keys, { principal: 'alice', roles: ['analyst'] });
  const authn = createAuthenticator(authSchema.parse({}), store.keys, silentLogger());
  await measure('authenticate (API key, SQLite file)', () => authn.authenticate({ authorization: `Bearer ${key}`, sourceIp: '127.0.0.1' }));

  const models = Array.from({ length: 10 }, (_, i) =>
    modelSchema.parse({ name: `m${i}`, protocol: 'openai', upstream: { url: 'http://127.0.0.1:9' }, attributes: { sensitivity: i % 2 ? 'low' : 'high', owner: 'ml' } }),
  );
  const pol = join(dir, 'p.cedar');
  writeFileSync(
    pol,
    `@id("analysts-low") permit (principal in Rampart::Role::"analyst", action == Rampart::Action::"invoke", resource) when { resource.sensitivity == "low" };
@id("office") forbid (principal, action, resource) when { context.time.hour < 6 && context.sourceIp.isInRange(ip("192.168.0.0/16")) };
@id("admins") permit (principal in Rampart::Role::"admin", action, resource);\n`,
  );
  const engine = loadPolicyEngine({ files: [pol] }, models);
  const principal = { id: 'alice', kind: 'user', roles: ['analyst'], groups: [], authMethod: 'api-key', attributes: {} };
  const ctx = (i) => ({ time: new Date(), sourceIp: `10.0.${(i >> 8) & 255}.${i & 255}`, route: 'openai.chat.completions', method: 'POST', attributes: { stream: false } });
  await measure('authorize (cache hits)', () => engine.authorize({ principal, action: 'invoke', model: 'm1', context: ctx(1) }));
  // Distinct principals defeat the cache: every call is a full Cedar evaluation.
  await measure('authorize (cache misses, full Cedar evaluation)', (i) =>
    engine.authorize({ principal: { ...principal, id: `u${i}-${Math.random()}` }, action: 'invoke', model: 'm1', context: ctx(i) }),
  );

  const quotas = createQuotaManager(quotasSchema.parse({ defaultPrincipal: { requestsPerMinute: 1e9, concurrent: 1000, tokensPerMinute: 1e12 } }), models, store.counters);
  await measure('quota acquire+release (rpm, concurrency, tpm)', async () => {
    const l = await quotas.acquire({ principal: 'alice', model: 'm1', countsTokens: true });
    l.release({ promptTokens: 10, completionTokens: 10, totalTokens: 20 });
  });
  const noLimits = createQuotaManager(quotasSchema.parse({}), models, store.counters);
  await measure('quota acquire+release (no limits)', async () => (await noLimits.acquire({ principal: 'alice', model: 'm1', countsTokens: true })).release(null));
  await authn.close();
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
