// Model-extraction defence end to end: the real demo (TLS, API keys in SQLite, Cedar, the KServe v2
// digits classifier) and a gateway with the demo's extraction and output-hardening guards in front
// of it. A Jacobian-based augmentation attacker is throttled (429 + Retry-After) after a few hundred
// queries; benign principals replaying real digit rows are never refused. The full evaluation is
// bench/extraction-eval.mjs.
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createApiKey } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { argmax, inputGradient, predictProba, seededRandom, shuffledIndices, trainClassifier, type Dataset } from '../../src/demo/classifier/model.js';
import { trainDigits } from '../../src/demo/classifier/server.js';
import { runDemo, type RunningDemo } from '../../src/demo/index.js';
import { runJbda } from '../../src/detect/extraction/jbda.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('rampart-extraction-e2e-');
let demo: RunningDemo;
let gateway: RunningGateway;
let store: Store;
let agent: Agent;
const keys: Record<string, string> = {};
// The demo trains with a fixed seed: this is the model it serves, and its held-out rows.
const trained = trainDigits();
const D = 64;
const row = (ds: Dataset, r: number) => Array.from(ds.x.subarray(r * D, r * D + D));

beforeAll(async () => {
  demo = await runDemo({ dir: join(tmp.dir, 'demo'), port: 0, chunkDelayMs: 0 });
  const dir = join(tmp.dir, 'demo');
  // The demo's own config, with its guard list reduced to the two this test is about.
  const text = readFileSync(demo.info.configFile, 'utf8');
  const guards = text.slice(text.indexOf('\nguards:\n'), text.indexOf('\nmonitoring:'));
  expect(guards).toContain('- type: extraction');
  const mine = text
    .replace(guards, '\nguards:\n  - type: extraction\n  - type: output-hardening\n')
    .replace(/listen: "127\.0\.0\.1:\d+"/, 'listen: "127.0.0.1:0"')
    .replace('path: rampart.db', 'path: extraction.db');
  const file = join(dir, 'gateway-extraction.yaml');
  writeFileSync(file, mine);
  const { config } = loadConfig(file);
  store = await openStore(config.store, silentLogger());
  for (const name of ['mallory', 'u1', 'u2', 'u3']) {
    keys[name] = (await createApiKey(store.keys, { principal: name, roles: ['analyst'], kind: 'user', description: 'extraction test' })).key;
  }
  gateway = await startGateway(config, { logger: silentLogger(), store, baseDir: dir });
  agent = new Agent({ connect: { ca: readFileSync(demo.info.caCertFile) } });
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await gateway?.close();
  await store?.close();
  await demo?.close();
  tmp.cleanup();
});

async function infer(who: string, rows: number[][]): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [rows.length, D], datatype: 'FP32', data: rows.flat() }] });
  const r = await request(`${gateway.url}/v2/models/digits/infer`, {
    method: 'POST',
    body,
    dispatcher: agent,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[who]}` },
  });
  return { status: r.statusCode, body: await r.body.json(), headers: r.headers };
}

describe('extraction defence through the gateway', () => {
  it('throttles a Jacobian-augmentation attacker before the attack completes', async () => {
    const seeds: Float64Array[] = [];
    const per = new Map<number, number>();
    for (let r = 0; seeds.length < 30; r++) {
      const c = trained.test.y[r]!;
      if ((per.get(c) ?? 0) < 3) {
        per.set(c, (per.get(c) ?? 0) + 1);
        seeds.push(Float64Array.from(row(trained.test, r)));
      }
    }
    let refusal: { status: number; body: any; headers: Record<string, unknown> } | null = null;
    let answered = 0;
    const result = await runJbda({
      seeds,
      rounds: 4,
      lambda: 1.6,
      tau: 3,
      clipMin: 0,
      clipMax: 16,
      oracle: async (batch) => {
        const labels: number[] = [];
        for (let i = 0; i < batch.length; i += 10) {
          const r = await infer('mallory', batch.slice(i, i + 10).map((x) => Array.from(x)));
          if (r.status !== 200) {
            refusal = r;
            return null;
          }
          const p = r.body.outputs.find((o: any) => o.name === 'probabilities');
          // Output hardening is on: scores come rounded to 2 decimals.
          for (const v of p.data) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-6);
          labels.push(...r.body.outputs.find((o: any) => o.name === 'label').data);
          answered += r.body.outputs.find((o: any) => o.name === 'label').data.length;
        }
        return labels;
      },
      train: (x, y) => {
        const ds: Dataset = { n: x.length, d: D, x: new Float64Array(x.length * D), y: Int32Array.from(y) };
        x.forEach((v, i) => ds.x.set(v, i * D));
        const m = trainClassifier(ds, 10, { inputScale: 1 / 16, epochs: 10, seed: 3 });
        return { lossGradient: (xx: Float64Array, l: number) => inputGradient(m, xx, l).gradient };
      },
    });
    expect(result.stopped).toBe(true);
    // PRADA tests once 100 distances are in; the attack's rounds (30, 30, 60, 120, 240 rows) stop
    // in the round that crosses it, whose partial answers the attacker cannot use.
    expect(answered).toBeGreaterThanOrEqual(100);
    expect(answered).toBeLessThan(300);
    expect(result.queries).toBeLessThan(answered);
    const r = refusal as unknown as { status: number; body: any; headers: Record<string, unknown> };
    expect(r.status).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(800);
    expect(JSON.stringify(r.body)).toContain('RAMPART_ERR_GUARD_THROTTLED');
    expect(JSON.stringify(r.body)).toContain('extraction.prada');
    // Still throttled on the next call, whatever it sends.
    const next = await infer('mallory', [row(trained.test, 0)]);
    expect(next.status).toBe(429);
    expect(JSON.stringify(next.body)).toContain('extraction.penalty');
  });

  it('raises no alarm on benign principals replaying real digits (shuffled, with repeats)', async () => {
    const statuses: number[] = [];
    await Promise.all(
      ['u1', 'u2', 'u3'].map(async (who, p) => {
        const rand = seededRandom(50 + p);
        const src = p === 1 ? trained.test : trained.train;
        const order = shuffledIndices(src.n, rand);
        const rows: number[][] = [];
        for (let k = 0; k < 250; k++) rows.push(row(src, rand() < 0.15 ? order[Math.floor(rand() * (k + 1))]! : order[k]!));
        for (let i = 0; i < rows.length; i += 10) {
          const r = await infer(who, rows.slice(i, i + 10));
          statuses.push(r.status);
          expect(r.body.outputs.find((o: any) => o.name === 'label').data).toEqual(rows.slice(i, i + 10).map((x) => argmax(predictProba(trained.model, x))));
        }
      }),
    );
    expect(statuses).toHaveLength(75);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});
