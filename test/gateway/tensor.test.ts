// The `tensor` guard end to end: a real gateway (plain HTTP on 127.0.0.1) in front of the real
// KServe v2 digits classifier server, the guard's baseline built from the classifier's training
// rows as the demo does, and the model metadata fetched from the upstream. A clean held-out digit
// passes, an out-of-range tensor is blocked in the v2 error shape, an FGSM-perturbed digit is
// flagged by the statistical checks (and blocked by the range check when it leaves the baseline's
// range), and feature squeezing queries the model again through the gateway's callModel.
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { argmax, inputGradient, predictProba } from '../../src/demo/classifier/model.js';
import { startClassifierServer, trainDigits } from '../../src/demo/classifier/server.js';
import type { RunningServer } from '../../src/demo/http.js';
import { writeDigitsBaseline } from '../../src/demo/tensor-baseline.js';
import { createGateway, type RunningGateway } from '../../src/gateway/index.js';
import { tempDir, testDeps, type TestDeps } from './helpers.js';

const D = 64;
const trained = trainDigits();
const tmp = tempDir('rampart-tensor-e2e-');
let upstream: RunningServer;
let gw: RunningGateway;
let deps: TestDeps;

beforeAll(async () => {
  upstream = await startClassifierServer({ model: trained.model, name: 'digits', host: '127.0.0.1', port: 0 });
  await writeDigitsBaseline(tmp.dir, trained.model, trained.train, 'digits');
  const config = parseConfig(
    {
      server: { listen: '127.0.0.1:0', allowPlainHttp: true },
      store: { type: 'sqlite', path: ':memory:' },
      policy: { files: ['unused.cedar'] },
      observability: { logLevel: 'silent' },
      models: [{ name: 'digits', protocol: 'kserve-v2', upstream: { url: upstream.url } }],
      // Range blocks, the statistical checks flag (the defaults), with a generous time limit on a
      // loaded machine.
      guards: [{ type: 'tensor', timeout: '5s', options: { baselines: ['baselines/digits.json'] } }],
    },
    tmp.dir,
    'test',
  );
  deps = testDeps();
  gw = await createGateway(config, deps, { logger: silentLogger(), processMetrics: false, baseDir: tmp.dir });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  tmp.cleanup();
});

async function infer(data: unknown, shape: unknown = [1, D], extra: Record<string, unknown> = {}) {
  const r = await request(`${gw.url}/v2/models/digits/infer`, {
    method: 'POST',
    headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape, data, ...extra }] }),
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: JSON.parse(text) as any, guards: String(r.headers['x-rampart-guards'] ?? '') };
}

const testRow = (i: number) => Array.from(trained.test.x.subarray(i * D, (i + 1) * D));

describe('tensor guard through the gateway', () => {
  it('lets clean held-out digits through, the model answering as without the guard', async () => {
    let passed = 0;
    for (let i = 0; i < 5; i++) {
      const r = await infer(testRow(i));
      expect(r.status).toBe(200);
      expect(r.guards).toMatch(/^tensor;action=(allow|flag)/);
      if (r.guards.startsWith('tensor;action=allow')) passed++;
      const p = predictProba(trained.model, testRow(i).map(Math.fround));
      expect(r.body.outputs.find((o: any) => o.name === 'label').data[0]).toBe(argmax(p));
    }
    expect(passed).toBeGreaterThanOrEqual(4);
  });

  it('blocks an out-of-range tensor in the v2 error shape, before the model sees it', async () => {
    const x = testRow(0);
    x[10] = 255;
    const r = await infer(x);
    expect(r.status).toBe(403);
    expect(typeof r.body.error).toBe('string');
    expect(r.body.error).toContain('tensor.range');
    expect(r.guards).toMatch(/^tensor;action=block/);
  });

  it('blocks a wrong shape, a wrong datatype and an infinite value (from metadata fetched upstream)', async () => {
    expect((await infer(testRow(0).slice(0, 63), [1, 63])).body.error).toContain('tensor.shape');
    const dt = await request(`${gw.url}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'INT32', shape: [1, D], data: testRow(0) }] }),
    });
    expect(dt.statusCode).toBe(403);
    expect(((await dt.body.json()) as any).error).toContain('tensor.dtype');
    // 1e999 is valid JSON that parses to Infinity.
    const inf = await request(`${gw.url}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
      body: `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,64],"data":[1e999${',0'.repeat(63)}]}]}`,
    });
    expect(inf.statusCode).toBe(403);
    expect(((await inf.body.json()) as any).error).toContain('tensor.nonfinite');
  });

  it('flags or blocks FGSM-perturbed digits that fool the model', async () => {
    let fooled = 0;
    for (let i = 0; i < 40 && fooled < 4; i++) {
      const x = testRow(i);
      const y = trained.test.y[i]!;
      if (argmax(predictProba(trained.model, x)) !== y) continue;
      const g = inputGradient(trained.model, x, y).gradient;
      const adv = x.map((v, j) => Math.min(16, Math.max(0, v + 2 * Math.sign(g[j]!))));
      if (argmax(predictProba(trained.model, adv.map(Math.fround))) === y) continue;
      fooled++;
      const r = await infer(adv);
      expect(r.guards).toMatch(/^tensor;action=(flag|block)/);
      if (r.status === 403) expect(r.body.error).toMatch(/tensor\./);
      else expect(r.status).toBe(200);
    }
    expect(fooled).toBeGreaterThanOrEqual(2);
  });

  it('records the verdict with its reason codes in the audit record', async () => {
    const x = testRow(1);
    x[0] = 3; // pixel 0 is blank in every training digit
    const r = await request(`${gw.url}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, D], data: x }] }),
    });
    expect(r.statusCode).toBe(403);
    await r.body.text();
    const id = r.headers['x-request-id'];
    const until = Date.now() + 3000;
    let rec: any;
    while (!(rec = deps.audit.records.find((a: any) => a.id === id)) && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    expect(JSON.stringify(rec)).toContain('tensor.range');
  });
});

