// The gateway with its real layers, as `rampart gateway` runs it: SQLite store, API keys, JWTs
// from a test JWKS server, Cedar policies, quotas and the hash-chained audit log, over TLS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createApiKey } from '../../src/auth/index.js';
import { makeSigningKey, signToken, startJwksServer, type JwksServer, type TestSigningKey } from '../../src/auth/testing/jwks-server.js';
import { verifyAudit } from '../../src/audit/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { createDevPki } from '../../src/tls/pki.js';
import { startUpstream, tempDir, type TestUpstream } from './helpers.js';

const POLICY = `
@id("engineers-use-all")
permit (principal in Rampart::Role::"ml-engineer", action in [Rampart::Action::"invoke", Rampart::Action::"list"], resource);

@id("analysts-use-classifiers")
permit (principal in Rampart::Role::"analyst", action in [Rampart::Action::"invoke", Rampart::Action::"list"], resource)
when { resource has family && resource.family == "classifier" };

@id("no-streaming-for-interns")
forbid (principal in Rampart::Role::"intern", action == Rampart::Action::"invoke", resource)
when { context.request has stream && context.request.stream };

@id("interns-chat")
permit (principal in Rampart::Role::"intern", action == Rampart::Action::"invoke", resource)
when { resource.name == "chat" };

@id("ops-metrics")
permit (principal in Rampart::Role::"ops", action == Rampart::Action::"admin", resource == Rampart::Gateway::"gateway");
`;

let upstream: TestUpstream;
let jwks: JwksServer;
let signer: TestSigningKey;
let tmp: ReturnType<typeof tempDir>;
let store: Store;
let gw: RunningGateway;
let dispatcher: Agent;
const keys: Record<string, string> = {};

async function call(path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await request(`${gw.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: (text.startsWith('{') ? JSON.parse(text) : null) as Record<string, unknown> };
}

beforeAll(async () => {
  tmp = tempDir();
  upstream = await startUpstream();
  signer = await makeSigningKey('k1');
  jwks = await startJwksServer([signer]);
  const pki = await createDevPki();
  writeFileSync(join(tmp.dir, 'server.pem'), pki.server.certPem);
  writeFileSync(join(tmp.dir, 'server-key.pem'), pki.server.keyPem);
  writeFileSync(join(tmp.dir, 'policy.cedar'), POLICY);
  dispatcher = new Agent({ connect: { ca: pki.ca.certPem } });
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', tls: { cert: 'server.pem', key: 'server-key.pem' } },
      store: { type: 'sqlite', path: 'rampart.db' },
      auth: { jwt: [{ issuer: 'https://issuer.test', audience: 'rampart', jwksUrl: jwks.url, rolesClaim: 'groups', roleMap: { 'ml-team': ['ml-engineer'] } }] },
      policy: { files: ['policy.cedar'] },
      quotas: { principals: { carol: { requestsPerMinute: 2, burst: 2 } } },
      audit: { checkpointEvery: 5 },
      observability: { logLevel: 'silent', metrics: { requireAuth: true } },
      models: [
        { name: 'chat', protocol: 'openai', upstream: { url: upstream.url }, attributes: { family: 'llm' } },
        { name: 'digits', protocol: 'kserve-v2', upstream: { url: upstream.url }, attributes: { family: 'classifier' } },
      ],
    },
    tmp.dir,
  );
  store = await openStore(config.store, silentLogger());
  for (const [name, roles] of [
    ['alice', ['ml-engineer']],
    ['bob', ['analyst']],
    ['carol', ['ml-engineer']],
    ['ivan', ['intern']],
    ['olga', ['ops']],
  ] as const) {
    keys[name] = (await createApiKey(store.keys, { principal: name, roles: [...roles] })).key;
  }
  gw = await startGateway(config, { store, logger: silentLogger(), processMetrics: false });
});

afterAll(async () => {
  await gw?.close();
  await store?.close();
  await dispatcher?.close();
  await jwks?.close();
  await upstream?.close();
  tmp?.cleanup();
});

describe('gateway with the real layers', () => {
  it('API key + Cedar allow, and Cedar deny for a role without access', async () => {
    expect((await call('/v1/chat/completions', keys.alice!, { model: 'chat', messages: [] })).status).toBe(200);
    const denied = await call('/v1/chat/completions', keys.bob!, { model: 'chat', messages: [] });
    expect(denied.status).toBe(403);
    expect((denied.json.error as { code: string }).code).toBe('RAMPART_ERR_POLICY_DENIED');
    expect((await call('/v2/models/digits/infer', keys.bob!, { inputs: [] })).status).toBe(200);
    const list = await call('/v1/models', keys.bob!);
    expect(list.json.data).toEqual([]);
  });

  it('Cedar sees request attributes: a forbid on streaming wins over a permit', async () => {
    expect((await call('/v1/chat/completions', keys.ivan!, { model: 'chat', messages: [] })).status).toBe(200);
    expect((await call('/v1/chat/completions', keys.ivan!, { model: 'chat', stream: true, messages: [] })).status).toBe(403);
  });

  it('JWT from the JWKS server, with claims mapped to roles; bad tokens are 401', async () => {
    const good = await signToken(signer, { iss: 'https://issuer.test', aud: 'rampart', sub: 'dana', groups: ['ml-team'] }, { expiresIn: '5m' });
    expect((await call('/v1/chat/completions', good, { model: 'chat', messages: [] })).status).toBe(200);
    const wrongAud = await signToken(signer, { iss: 'https://issuer.test', aud: 'other', sub: 'dana', groups: ['ml-team'] }, { expiresIn: '5m' });
    const r = await call('/v1/chat/completions', wrongAud, { model: 'chat', messages: [] });
    expect(r.status).toBe(401);
    const expired = await signToken(signer, { iss: 'https://issuer.test', aud: 'rampart', sub: 'dana', exp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await call('/v1/chat/completions', expired, { model: 'chat', messages: [] })).json.error).toMatchObject({ code: 'RAMPART_ERR_AUTH_EXPIRED' });
  });

  it('429 with Retry-After once the principal quota is spent', async () => {
    const statuses = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 3; i++) {
      const r = await call('/v1/chat/completions', keys.carol!, { model: 'chat', messages: [] });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers['retry-after'];
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('/metrics requires the admin action on the gateway when protected', async () => {
    expect((await call('/metrics', null)).status).toBe(401);
    expect((await call('/metrics', keys.alice!)).status).toBe(403);
    const ok = await call('/metrics', keys.olga!);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('rampart_gateway_requests_total');
  });

  it('every request left an audit record in an intact hash chain', async () => {
    await gw.close();
    const v = await verifyAudit(store.audit);
    expect(v.ok).toBe(true);
    expect(v.lastSeq).toBeGreaterThanOrEqual(14);
    const entries = await store.audit.readAudit(1, 100);
    const bodies = entries.map((e) => JSON.parse(e.body) as Record<string, unknown>);
    const denied = bodies.find((b) => b.principal === 'bob' && b.status === 403)!;
    expect(denied).toMatchObject({ decision: 'deny', model: 'chat', errorCode: 'RAMPART_ERR_POLICY_DENIED' });
    const allowed = bodies.find((b) => b.principal === 'alice' && b.status === 200)!;
    expect(allowed.policyIds).toEqual(['engineers-use-all']);
    expect(allowed.usage).toEqual({ promptTokens: 11, completionTokens: 7, totalTokens: 18 });
    expect(bodies.some((b) => b.principal === 'dana' && b.authMethod === 'jwt')).toBe(true);
    expect(bodies.filter((b) => b.status === 429)).toHaveLength(1);
    // No credentials or bodies in the audit trail.
    const all = entries.map((e) => e.body).join('\n');
    for (const k of Object.values(keys)) expect(all).not.toContain(k);
    expect(all).not.toContain('requestBody');
  });
});
