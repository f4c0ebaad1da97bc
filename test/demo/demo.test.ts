// End-to-end: the demo's gateway, upstreams, identities and policy, driven with the official
// openai client over TLS (trusting only the demo CA) and the KServe v2 protocol.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type ClientOptions } from 'openai';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type RunningDemo } from '../../src/demo/index.js';
import { loadDigits } from '../../src/demo/classifier/digits.js';
import { verifyAudit } from '../../src/audit/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openStore } from '../../src/store/index.js';

const execFileAsync = promisify(execFile);
const hasCurl = spawnSync('curl', ['--version']).status === 0;
let tmp: string;
let demo: RunningDemo;
let agent: Agent;
let info: {
  gatewayUrl: string;
  caCertFile: string;
  configFile: string;
  identities: { name: string; roles: string[]; apiKey: string }[];
  models: { name: string; protocol: string }[];
};

const keyOf = (name: string) => info.identities.find((i) => i.name === name)!.apiKey;
const client = (name: string) =>
  new OpenAI({
    baseURL: `${info.gatewayUrl}/v1`,
    apiKey: keyOf(name),
    maxRetries: 0,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: agent } as ClientOptions['fetchOptions'],
  });

// Receives the demo's alert webhooks (rampart demo --alert-webhook).
const webhookBodies: string[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    webhookBodies.push(body);
    res.end('ok');
  });
});

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'rampart-demo-test-'));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
  demo = await runDemo({ dir: join(tmp, 'demo'), port: 0, chunkDelayMs: 0, alertWebhook: hook });
  info = JSON.parse(readFileSync(demo.infoFile, 'utf8')) as typeof info;
  agent = new Agent({ connect: { ca: readFileSync(info.caCertFile) } });
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await demo?.close();
  await new Promise((r) => receiver.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('rampart demo', () => {
  it('writes demo.json with the documented keys and absolute paths', () => {
    expect(Object.keys(info).slice(0, 5)).toEqual(['gatewayUrl', 'caCertFile', 'configFile', 'identities', 'models']);
    expect(info.gatewayUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const f of [info.caCertFile, info.configFile]) {
      expect(f.startsWith(tmp)).toBe(true);
      expect(existsSync(f)).toBe(true);
    }
    expect(info.identities.map((i) => [i.name, i.roles])).toEqual([
      ['alice', ['ml-engineer']],
      ['bob', ['analyst']],
    ]);
    expect(info.models).toEqual([
      { name: 'demo-chat', protocol: 'openai' },
      { name: 'digits', protocol: 'kserve-v2' },
    ]);
    expect(existsSync(join(tmp, 'demo', 'policies', 'demo.cedar'))).toBe(true);
    const weights = readFileSync(demo.info.classifier.weightsFile);
    expect(weights.includes(Buffer.from('rampart-dense-model'))).toBe(false);
  });

  it('lets alice chat, plain and streaming, with the openai client', async () => {
    const alice = client('alice');
    const r = await alice.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'ping through the gateway' }] });
    expect(r.choices[0]!.message.content).toContain('ping through the gateway');
    expect(r.usage!.total_tokens).toBeGreaterThan(0);

    const stream = await alice.chat.completions.create({
      model: 'demo-chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream through the gateway' }],
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text).toContain('stream through the gateway');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('refuses bob on the chat model with 403 and hides it from his model list', async () => {
    const bob = client('bob');
    await expect(bob.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 403 });
    const models = await bob.models.list();
    expect(models.data.map((m) => m.id)).not.toContain('demo-chat');
  });

  it('classifies real digits for bob through the KServe v2 route', async () => {
    const ds = loadDigits();
    const rows = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const res = await request(`${info.gatewayUrl}/v2/models/digits/infer`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${keyOf('bob')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [rows.length, 64], datatype: 'FP32', data: rows.flatMap((r) => Array.from(ds.x.subarray(r * 64, r * 64 + 64))) }] }),
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as { outputs: { name: string; data: number[] }[] };
    const labels = body.outputs.find((o) => o.name === 'label')!.data;
    const correct = labels.filter((l, i) => l === ds.y[rows[i]!]).length;
    expect(correct).toBeGreaterThanOrEqual(9);
  });

  it('passes its own self-check', async () => {
    const results = await demo.check();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(6);
    expect(demo.curlText).toContain('--cacert');
  });

  it.skipIf(!hasCurl)('prints curl commands that work verbatim in a shell', async () => {
    const commands = demo.curlText.split('\n').filter((l) => l.startsWith('curl '));
    expect(commands).toHaveLength(demo.scenarios.length);
    for (const [i, cmd] of commands.entries()) {
      // Asynchronous: the gateway answering curl runs in this very process.
      const { stdout } = await execFileAsync('sh', ['-c', `${cmd} -w '\\n%{http_code}'`], { encoding: 'utf8', timeout: 20_000 });
      expect(Number(stdout.trim().split('\n').at(-1)), demo.scenarios[i]!.id).toBe(demo.scenarios[i]!.expectStatus);
    }
  });

  it('alerts on privilege probing, to alerts.jsonl and the --alert-webhook', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await request(`${info.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${keyOf('bob')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: `try ${i}` }] }),
      });
      expect(res.statusCode).toBe(403);
      await res.body.dump();
    }
    const deadline = Date.now() + 20_000;
    while (!webhookBodies.some((b) => b.includes('bob')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(webhookBodies.some((b) => b.includes('bob'))).toBe(true);
    expect(readFileSync(demo.info.alertsFile, 'utf8')).toContain('bob');
  });

  it('refuses a taken --port and a malformed --alert-webhook with coded errors', async () => {
    const port = Number(new URL(info.gatewayUrl).port);
    await expect(runDemo({ dir: join(tmp, 'second'), port })).rejects.toMatchObject({ code: 'RAMPART_ERR_DEMO_PORT_IN_USE' });
    await expect(runDemo({ dir: join(tmp, 'third'), port: 0, alertWebhook: 'ftp://example.invalid/x' })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    expect(existsSync(join(tmp, 'third'))).toBe(false);
    expect(info.gatewayUrl).toBe(demo.info.gatewayUrl);
  });

  it('shuts down cleanly, leaving a verifiable audit chain of every request', async () => {
    await demo.close();
    await expect(request(`${info.gatewayUrl}/v1/models`, { dispatcher: agent })).rejects.toThrow();
    const store = await openStore({ type: 'sqlite', path: join(tmp, 'demo', 'rampart.db') }, silentLogger());
    try {
      const r = await verifyAudit(store.audit);
      expect(r.ok).toBe(true);
      expect(r.checked).toBeGreaterThanOrEqual(15);
    } finally {
      await store.close();
    }
  });

  it('refuses to wipe a folder it did not make', async () => {
    const other = join(tmp, 'precious');
    mkdirSync(other);
    writeFileSync(join(other, 'keep.txt'), 'data');
    await expect(runDemo({ dir: other, port: 0 })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    expect(readFileSync(join(other, 'keep.txt'), 'utf8')).toBe('data');
  });
});

// The README's command, through the compiled CLI (dist is built by `npm test` before vitest runs).
const cli = join(import.meta.dirname, '..', '..', 'bin', 'rampart.js');
const built = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'commands', 'demo.js'));
describe.skipIf(!built)('rampart demo --check (CLI)', () => {
  it('starts, passes every scenario and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-demo-cli-'));
    try {
      const child = spawn(process.execPath, [cli, 'demo', '--check', '--port', '0', '--dir', join(dir, 'd')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(out).toContain('scenarios behaved as expected');
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
