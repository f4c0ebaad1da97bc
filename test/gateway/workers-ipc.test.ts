// server.workers > 1: the primary checks what its workers send. Each worker here first sends
// malformed protocol messages (operations that are not a list, operations of the wrong shape, an
// audit record and events that are not ones); the primary ignores them and keeps serving (before
// the fix, `ops` that was not a list threw in the primary's message handler and ended the whole
// gateway). Runs the built library (dist/, or RAMPART_TEST_DIST) in a child process, because the
// workers re-run the main module; skipped when it has not been built.
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createApiKey } from '../../src/auth/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { createDevPki } from '../../src/tls/pki.js';
import { openStore } from '../../src/store/index.js';
import { startChild, startUpstream, tempDir, type TestUpstream } from './helpers.js';

const dist = process.env.RAMPART_TEST_DIST ? pathToFileURL(`${resolve(process.env.RAMPART_TEST_DIST)}/`) : new URL('../../dist/', import.meta.url);
const built = existsSync(new URL('gateway/cluster.js', dist));

const CHILD = `
import cluster from 'node:cluster';
import { loadConfig } from ${JSON.stringify(new URL('config/load.js', dist).href)};
import { runGateway } from ${JSON.stringify(new URL('gateway/cluster.js', dist).href)};
import { silentLogger } from ${JSON.stringify(new URL('core/logger.js', dist).href)};
if (cluster.isWorker) {
  const t = 'rampart.gw';
  for (const m of [
    { t, ops: 5 },
    { t, ops: [null, 'x', ['acquire'], ['acquire', 1, {}, 'chat', true], ['release', 'a', 7], ['flush', -1]] },
    { t, ops: [['record', { id: 1 }], ['events', [null, { type: 'guard.verdict' }]], ['events', 'no']] },
    { t, metricsRes: { id: 1 } },
    { t, something: 'else' },
  ]) process.send(m);
}
const { config } = loadConfig(process.argv[2]);
const gw = await runGateway(config, { logger: silentLogger() });
process.stdout.write(gw.url + '\\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
`;

let tmp: ReturnType<typeof tempDir>;
let upstream: TestUpstream;
let child: ChildProcess;
let url = '';
let key = '';
let agent: Agent;

beforeAll(async () => {
  if (!built) return;
  tmp = tempDir('rampart-gw-workers-ipc-');
  upstream = await startUpstream();
  const pki = await createDevPki({ hosts: ['localhost', '127.0.0.1'] });
  writeFileSync(join(tmp.dir, 'server.pem'), pki.server.certPem);
  writeFileSync(join(tmp.dir, 'server-key.pem'), pki.server.keyPem);
  writeFileSync(join(tmp.dir, 'p.cedar'), '@id("all") permit (principal, action, resource);\n');
  const db = join(tmp.dir, 'rampart.db');
  const config = {
    server: { listen: '127.0.0.1:0', tls: { cert: join(tmp.dir, 'server.pem'), key: join(tmp.dir, 'server-key.pem') }, workers: 2 },
    store: { type: 'sqlite', path: db },
    policy: { files: [join(tmp.dir, 'p.cedar')] },
    quotas: { principals: { limited: { requestsPerMinute: 3 } } },
    observability: { logLevel: 'warn' },
    models: [{ name: 'chat', protocol: 'openai', upstream: { url: upstream.url } }],
  };
  writeFileSync(join(tmp.dir, 'rampart.json'), JSON.stringify(config));
  writeFileSync(join(tmp.dir, 'child.mjs'), CHILD);
  const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
  key = (await createApiKey(store.keys, { principal: 'limited', roles: [] })).key;
  await store.close();
  const started = startChild(tmp.dir, join(tmp.dir, 'rampart.json'));
  child = started.child;
  url = await started.line;
  agent = new Agent({ connect: { ca: pki.ca.certPem } });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await agent?.close();
  await upstream?.close();
  tmp?.cleanup();
});

async function chat(): Promise<number> {
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    reset: true,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.dump();
  return r.statusCode;
}

describe.runIf(built)('malformed messages from gateway workers', () => {
  it('are ignored: the primary keeps serving, quotas still hold, /metrics still answers', { timeout: 30_000 }, async () => {
    const statuses = await Promise.all(Array.from({ length: 5 }, () => chat()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    const m = await request(`${url}/metrics`, { dispatcher: agent });
    expect(m.statusCode).toBe(200);
    expect(await m.body.text()).toMatch(/^rampart_gateway_requests_total\{/m);
    expect(child.exitCode).toBeNull();
  });
});
