// Output hardening on real KServe v2 responses of the demo classifier: every mode leaves a valid v2
// response (shapes match data, labels kept), rounds, keeps only the top k, or removes the scores.
/* eslint-disable @typescript-eslint/no-explicit-any -- v2 bodies are inspected loosely */
import { describe, expect, it } from 'vitest';
import { trainDigits } from '../../demo/classifier/server.js';
import { describeClassifier, infer } from '../../demo/classifier/v2-protocol.js';
import { silentLogger } from '../../core/logger.js';
import type { GuardEnv, ResponseInput } from '../types.js';
import { outputHardeningGuardFactory } from './index.js';

const t = trainDigits();
const desc = describeClassifier('digits', t.model);
const rows = 4;
const request = { inputs: [{ name: 'input', shape: [rows, 64], datatype: 'FP32', data: Array.from(t.test.x.subarray(0, rows * 64)) }] };

function response(req: Record<string, unknown> = request): any {
  return JSON.parse(JSON.stringify(infer(t.model, desc, req)));
}

async function harden(options: Record<string, unknown>, body: any = response()): Promise<{ body: any; action: string; codes: string[] }> {
  const guard = await outputHardeningGuardFactory.create('oh', outputHardeningGuardFactory.options.parse(options), { logger: silentLogger() } as GuardEnv);
  const input = { route: 'kserve.infer', protocol: 'kserve', status: 200, body, requestBody: request } as unknown as ResponseInput;
  const v = await guard.checkResponse!(input);
  v.apply?.();
  return { body: JSON.parse(JSON.stringify(body)), action: v.action, codes: v.reasons.map((r) => r.code) };
}

/** Every output's data length matches its shape; the response still names the model. */
function expectValidV2(body: any): void {
  expect(body.model_name).toBe('digits');
  for (const o of body.outputs) {
    expect(o.data).toHaveLength(o.shape.reduce((a: number, b: number) => a * b, 1));
    expect(o.data.every((v: unknown) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
  }
}

describe('output-hardening', () => {
  it('round: scores rounded to the decimals, labels unchanged', async () => {
    const before = response();
    const { body, action, codes } = await harden({ mode: 'round', decimals: 1 });
    expect(action).toBe('redact');
    expect(codes).toEqual(['output-hardening.round']);
    expectValidV2(body);
    const p = body.outputs.find((o: any) => o.name === 'probabilities');
    expect(p.shape).toEqual([rows, 10]);
    for (const v of p.data) expect(Math.round(v * 10)).toBeCloseTo(v * 10, 9);
    expect(body.outputs.find((o: any) => o.name === 'label')).toEqual(before.outputs.find((o: any) => o.name === 'label'));
  });

  it('top-k: same shape, k non-zero scores per row, the arg-max kept', async () => {
    const before = response();
    const { body } = await harden({ mode: 'top-k', k: 2, decimals: 3 });
    expectValidV2(body);
    const p = body.outputs.find((o: any) => o.name === 'probabilities');
    const orig = before.outputs.find((o: any) => o.name === 'probabilities').data as number[];
    const labels = before.outputs.find((o: any) => o.name === 'label').data as number[];
    for (let r = 0; r < rows; r++) {
      const rowv = p.data.slice(r * 10, r * 10 + 10) as number[];
      expect(rowv.filter((v) => v !== 0).length).toBeLessThanOrEqual(2);
      expect(rowv[labels[r]!]).toBeCloseTo(orig[r * 10 + labels[r]!]!, 3);
    }
  });

  it('label-only: scores removed, label kept or added when the client asked for scores only', async () => {
    const { body } = await harden({ mode: 'label-only' });
    expectValidV2(body);
    expect(body.outputs.map((o: any) => o.name)).toEqual(['label']);
    const onlyScores = response({ ...request, outputs: [{ name: 'probabilities' }] });
    const expected = response().outputs.find((o: any) => o.name === 'label');
    const r2 = await harden({ mode: 'label-only' }, onlyScores);
    expectValidV2(r2.body);
    expect(r2.body.outputs).toEqual([expected]);
  });

  it('leaves responses without scores alone and refuses bad options', async () => {
    const labelsOnly = response({ ...request, outputs: [{ name: 'label' }] });
    expect((await harden({ mode: 'round' }, labelsOnly)).action).toBe('allow');
    expect((await harden({}, { error: 'x' })).action).toBe('allow');
    for (const bad of [{ mode: 'none' }, { decimals: -1 }, { k: 0 }, { extra: 1 }]) expect(outputHardeningGuardFactory.options.safeParse(bad).success).toBe(false);
    expect(outputHardeningGuardFactory.options.parse({})).toMatchObject({ mode: 'round', decimals: 2 });
  });
});
