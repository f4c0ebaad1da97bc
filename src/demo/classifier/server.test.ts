import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../http.js';
import { startClassifierServer, trainDigits, type TrainedDigits } from './server.js';

let trained: TrainedDigits;
let server: RunningServer;

beforeAll(async () => {
  trained = trainDigits();
  server = await startClassifierServer({ model: trained.model });
});
afterAll(() => server.close());

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

function rows(n: number): { data: number[]; labels: number[] } {
  const data = Array.from(trained.test.x.subarray(0, n * 64));
  return { data, labels: Array.from(trained.test.y.subarray(0, n)) };
}

describe('KServe v2 digits classifier', () => {
  it('reaches >= 0.9 held-out accuracy quickly', () => {
    expect(trained.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(trained.test.n).toBeGreaterThan(300);
  });

  it('serves health, server and model metadata', async () => {
    for (const [p, key] of [['/v2/health/live', 'live'], ['/v2/health/ready', 'ready'], ['/v2/models/digits/ready', 'ready']] as const) {
      const r = await fetch(`${server.url}${p}`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as Record<string, unknown>)[key]).toBe(true);
    }
    const meta = (await (await fetch(`${server.url}/v2/models/digits`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: 'digits',
      versions: ['1'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    expect((await fetch(`${server.url}/v2/models/other`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2/models/digits/versions/2`)).status).toBe(404);
  });

  it('predicts real digits through the tensor protocol (flat and nested data)', async () => {
    const { data, labels } = rows(20);
    const r = await post('/v2/models/digits/infer', { id: 'req-1', inputs: [{ name: 'input', shape: [20, 64], datatype: 'FP32', data }] });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('req-1');
    expect(r.body.model_name).toBe('digits');
    const [probs, label] = r.body.outputs as { name: string; shape: number[]; datatype: string; data: number[] }[];
    expect(probs).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [20, 10] });
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [20] });
    const correct = label!.data.filter((p, i) => p === labels[i]).length;
    expect(correct).toBeGreaterThanOrEqual(17);
    for (let i = 0; i < 20; i++) expect(probs!.data.slice(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

    const nested = [data.slice(0, 64), data.slice(64, 128)];
    const r2 = await post('/v2/models/digits/versions/1/infer', { inputs: [{ name: 'input', shape: [2, 64], datatype: 'FP32', data: nested }], outputs: [{ name: 'label' }] });
    expect(r2.status).toBe(200);
    expect(r2.body.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], data: (label!.data).slice(0, 2) }]);
  });

  it('refuses malformed tensors with v2 errors', async () => {
    const row = rows(1).data;
    const bad: unknown[] = [
      'not json',
      [],
      { inputs: [] },
      { inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: row }] },
      { inputs: [{ name: 'input', shape: [1, 64], datatype: 'INT64', data: row }] },
      { inputs: [{ name: 'input', shape: [1, 63], datatype: 'FP32', data: row.slice(1) }] },
      { inputs: [{ name: 'input', shape: [64], datatype: 'FP32', data: row }] },
      { inputs: [{ name: 'input', shape: [2, 64], datatype: 'FP32', data: row }] },
      { inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: [...row.slice(1), 'x'] }] },
      { inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: [...row, 1] }] },
      { inputs: [{ name: 'input', shape: [100000, 64], datatype: 'FP32', data: row }] },
      { inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: row }], outputs: [{ name: 'logits' }] },
    ];
    for (const b of bad) {
      const r = await post('/v2/models/digits/infer', b);
      expect(r.status).toBe(400);
      expect(typeof r.body.error).toBe('string');
    }
    const unknown = await post('/v2/models/cats/infer', { inputs: [] });
    expect(unknown.status).toBe(404);
  });

  it('survives mutated requests', async () => {
    const base = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: rows(1).data }] });
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 80; i++) {
      const chars = [...base];
      for (let k = 0; k < 2; k++) chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 90));
      const res = await fetch(`${server.url}/v2/models/digits/infer`, { method: 'POST', body: chars.join('') });
      expect([200, 400]).toContain(res.status);
      await res.arrayBuffer();
    }
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
  });
});
