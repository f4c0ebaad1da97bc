// The gateway CLI as users run it (`node bin/rampart.js ...`, from the compiled dist/): certs init,
// start-up, a refused bad config, and a graceful SIGTERM that lets an in-flight stream finish and
// still writes its audit record. Needs `npm run build` first (the test script does it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { verifyAudit } from '../../src/audit/index.js';
import { createApiKey } from '../../src/auth/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openStore } from '../../src/store/index.js';
import { startUpstream, tempDir, type TestUpstream } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'rampart.js');

function rampart(args: string[], cwd: string) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
}

let tmp: ReturnType<typeof tempDir>;
let upstream: TestUpstream;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  tmp = tempDir();
  upstream = await startUpstream();
});

afterAll(async () => {
  await upstream?.close();
  tmp?.cleanup();
});

describe('rampart certs init / gateway', () => {
  it('creates certificates, and refuses a bad config with exit 2 and a one-line coded reason', () => {
    const ok = rampart(['certs', 'init', '--dir', 'certs', '--client', 'svc-a,svc-b'], tmp.dir);
    expect(ok.status).toBe(0);
    for (const f of ['ca.pem', 'server.pem', 'server-key.pem', 'client-svc-a.pem', 'client-svc-b-key.pem']) expect(existsSync(join(tmp.dir, 'certs', f))).toBe(true);
    writeFileSync(join(tmp.dir, 'bad.yaml'), 'server: { listen: 127.0.0.1:0 }\npolicy: { files: [p.cedar] }\nmodels: []\n');
    const bad = rampart(['gateway', '--config', 'bad.yaml'], tmp.dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^rampart: .*\[RAMPART_ERR_CONFIG_INVALID\]\n$/);
  }, 120_000);

  it('serves until SIGTERM, then drains an in-flight stream and exits 0 with its audit record written', async () => {
    writeFileSync(join(tmp.dir, 'p.cedar'), '@id("all") permit (principal, action, resource);\n');
    writeFileSync(
      join(tmp.dir, 'rampart.yaml'),
      [
        'server:',
        '  listen: 127.0.0.1:0',
        '  tls: { cert: certs/server.pem, key: certs/server-key.pem }',
        'store: { type: sqlite, path: rampart.db }',
        'policy: { files: [p.cedar] }',
        'observability: { logLevel: warn }',
        'models:',
        `  - { name: chat, protocol: openai, upstream: { url: "${upstream.url}" } }`,
        '',
      ].join('\n'),
    );
    // Each CLI start costs seconds on a loaded machine: make the key through the library instead.
    const keyStore = await openStore({ type: 'sqlite', path: join(tmp.dir, 'rampart.db') }, silentLogger());
    const apiKey = (await createApiKey(keyStore.keys, { principal: 'alice', roles: ['dev'] })).key;
    await keyStore.close();

    const child: ChildProcess = spawn(process.execPath, [BIN, 'gateway', '--config', 'rampart.yaml'], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (https:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      setTimeout(() => reject(new Error(`no start-up line: ${stderr}`)), 60_000);
    });
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(tmp.dir, 'certs', 'ca.pem')) } });
    try {
      const r = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hold' }] }),
      });
      expect(r.statusCode).toBe(200);
      const it = r.body[Symbol.asyncIterator]();
      let text = ((await it.next()).value as Buffer).toString();
      child.kill('SIGTERM');
      await new Promise((res) => setTimeout(res, 300));
      // Draining: the stream in flight continues to its end.
      upstream.releaseLast();
      for (let n = await it.next(); !n.done; n = await it.next()) text += (n.value as Buffer).toString();
      expect(text).toContain('[DONE]');
      expect(await exited).toBe(0);
      expect(stderr).toContain('rampart gateway: stopped');
    } finally {
      await dispatcher.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const store = await openStore({ type: 'sqlite', path: join(tmp.dir, 'rampart.db') }, silentLogger());
    try {
      expect((await verifyAudit(store.audit)).ok).toBe(true);
      const last = (await store.audit.lastAudit())!;
      expect(JSON.parse(last.body)).toMatchObject({ principal: 'alice', model: 'chat', status: 200, usage: { totalTokens: 18 } });
    } finally {
      await store.close();
    }
  }, 120_000);
});
