import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../../test/helpers/fifo.js';
import { silentLogger } from '../../core/logger.js';
import { mulberry32, normal } from '../../detect/random.js';
import type { RequestInput } from '../types.js';
import { buildBaseline, parseBaseline, readBaseline, writeBaseline } from './baseline.js';
import { readBaselineRows } from './baseline-input.js';
import { TensorGuard, tensorOptionsSchema } from './index.js';
import { parseV2Request } from './v2.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-tensor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A random JSON-ish value, biased towards v2-looking shapes. */
function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 4 || r < 0.3) {
    const leaves = [0, -1, 1.5, 1e999, -1e999, 'NaN', 'x', true, null, 2 ** 60, 3, 255, 256];
    return leaves[Math.floor(rand() * leaves.length)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  const keys = ['inputs', 'name', 'shape', 'datatype', 'data', 'parameters', 'outputs', 'id', 'binary_data_size', 'FP32', 'UINT8', 'BOOL'];
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 5); i > 0; i--) o[keys[Math.floor(rand() * keys.length)]!] = randomValue(rand, depth + 1);
  return o;
}

describe('v2 parser', () => {
  it('parses flat and nested data, scalars and every datatype family', () => {
    const r = parseV2Request({
      id: 'a',
      inputs: [
        { name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4]] },
        { name: 'b', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 's', shape: [1], datatype: 'BYTES', data: ['hi'] },
        { name: 'i', shape: [], datatype: 'INT8', data: -5 },
      ],
      outputs: [{ name: 'probabilities' }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.request.inputs[0]!.values)).toEqual([1, 2, 3, 4]);
    expect(Array.from(r.request.inputs[1]!.values)).toEqual([1, 0]);
    expect(r.request.inputs[3]!.values[0]).toBe(-5);
  });

  it.each([
    [{ inputs: [] }, 'tensor.malformed'],
    [{ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2] }] }, 'tensor.shape'],
    [{ inputs: [{ name: 'x', shape: [1], datatype: 'FP8', data: [1] }] }, 'tensor.dtype'],
    [{ inputs: [{ name: 'x', shape: [1], datatype: 'UINT8', data: [256] }] }, 'tensor.dtype'],
    [{ inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [1.5] }] }, 'tensor.dtype'],
    [{ inputs: [{ name: 'x', shape: [-1], datatype: 'FP32', data: [1] }] }, 'tensor.shape'],
    [{ inputs: [{ name: 'x', shape: [1e6, 1e6], datatype: 'FP32', data: [] }] }, 'tensor.too-large'],
    [{ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], extra: 1 }, 'tensor.malformed'],
    [{ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }, { name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }, 'tensor.malformed'],
  ])('reports %j as %s', (body, code) => {
    const r = parseV2Request(body);
    expect(r.ok ? null : r.problem.code).toBe(code);
  });

  it('counts non-finite values: 1e999, "NaN", and FP32 overflow', () => {
    const r = parseV2Request({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1e999, 'NaN', 1e300] }] });
    expect(r.ok && r.request.inputs[0]!.nonFinite).toBe(3);
  });

  it('throws RAMPART_ERR_TENSOR_BINARY_DATA for the binary extension', () => {
    expect(() => parseV2Request({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] })).toThrow(
      expect.objectContaining({ code: 'RAMPART_ERR_TENSOR_BINARY_DATA' }),
    );
  });

  it('never throws anything else on 3,000 seeded random bodies', () => {
    const rand = mulberry32(20261128);
    for (let i = 0; i < 3000; i++) {
      const body = rand() < 0.5 ? { inputs: [randomValue(rand, 1), randomValue(rand, 1)] } : randomValue(rand, 0);
      try {
        const r = parseV2Request(body, { maxInputs: 8, maxElements: 1000, maxRank: 4, maxDepth: 4 });
        expect(typeof r.ok).toBe('boolean');
      } catch (e) {
        expect((e as { code?: string }).code).toBe('RAMPART_ERR_TENSOR_BINARY_DATA');
      }
    }
  });
});

// A small baseline: 300 rows of 4 features around (10, 10, 10, 10).
const rand = mulberry32(7);
const N = 300;
const X = Float64Array.from({ length: N * 4 }, () => 10 + normal(rand));
const baseline = buildBaseline({ model: 'm', input: { name: 'x', datatype: 'FP32', rowShape: [4] }, sourceFile: 'gen', x: X, n: N, d: 4, now: new Date(0) });

function requestInput(body: Record<string, unknown>, callModel?: RequestInput['callModel']): RequestInput {
  return {
    requestId: 'r',
    route: 'kserve.infer',
    protocol: 'kserve',
    model: { name: 'm', protocol: 'kserve-v2', upstream: { url: 'http://127.0.0.1:9', timeout: 1000, retries: 0, headers: {}, connections: 1 }, attributes: {} },
    principal: { id: 'p', roles: [] } as unknown as RequestInput['principal'],
    sourceIp: '127.0.0.1',
    now: 0,
    signal: new AbortController().signal,
    body,
    texts: () => [],
    callModel: callModel ?? (() => Promise.reject(new Error('no model'))),
  };
}

function guard(options: unknown = {}) {
  return new TensorGuard('tensor', tensorOptionsSchema.parse({ metadata: { fetch: false }, ...(options as object) }), [baseline], silentLogger());
}
const body = (data: unknown[], extra: Record<string, unknown> = {}) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length / 4, 4], data, ...extra }] });

describe('tensor guard checks', () => {
  it('allows a typical row and blocks range, shape, dtype and NaN problems with their codes', async () => {
    const g = guard();
    expect((await g.checkRequest(requestInput(body([10, 10, 10, 10])))).action).toBe('allow');
    const codes = async (b: Record<string, unknown>) => (await g.checkRequest(requestInput(b))).reasons.map((r) => r.code);
    expect(await codes(body([10, 10, 10, 100]))).toEqual(['tensor.range']);
    expect(await codes({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })).toEqual(['tensor.shape']);
    expect(await codes({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 4], data: [10, 10, 10, 10] }] })).toEqual(['tensor.dtype']);
    expect(await codes({ inputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [10, 10, 10, 10] }] })).toContain('tensor.shape');
    expect(await codes(body([10, 10, 10, 'NaN']))).toEqual(['tensor.nonfinite']);
  });

  it('flags an in-range but unusual row as tensor.ood (a correlated pattern broken)', async () => {
    const g = guard();
    const { min, max } = baseline.range;
    const v = await g.checkRequest(requestInput(body([min[0]!, max[1]!, min[2]!, max[3]!])));
    expect(v.action).toBe('flag');
    expect(v.reasons.map((r) => r.code).filter((c) => c !== 'tensor.squeeze-skipped')).toEqual(['tensor.ood']);
    expect(v.score).toBeGreaterThan(1);
  });

  it('config inputs win over the baseline, and actions and checks are configurable', async () => {
    const g = guard({ models: { m: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4], min: 0, max: 1000 }] } }, checks: { ood: false } });
    expect((await g.checkRequest(requestInput(body([10, 10, 10, 100])))).action).toBe('allow');
    expect((await g.checkRequest(requestInput(body([10, 10, 10, 1001])))).reasons[0]!.code).toBe('tensor.range');
    const f = guard({ actions: { range: 'flag' } });
    expect((await f.checkRequest(requestInput(body([10, 10, 10, 100])))).action).toBe('flag');
  });

  it('squeezing: skipped with a reason when uncalibrated; flags a large output change; skips non-probability outputs', async () => {
    const g = guard();
    const v = await g.checkRequest(requestInput(body([10, 10, 10, 10])));
    expect(v.reasons.map((r) => r.code)).toEqual(['tensor.squeeze-skipped']);
    const sq = { ...baseline, scores: { ...baseline.scores, squeeze: { squeezers: [{ kind: 'bit-depth' as const, bits: 2 }], output: null, sample: [0.01, 0.02, 0.05] } } };
    const g2 = new TensorGuard('tensor', tensorOptionsSchema.parse({ metadata: { fetch: false } }), [sq], silentLogger());
    // A model whose answer flips between the original (first row) and the squeezed copy.
    const flip = async (b: Record<string, unknown>) => {
      const rows = ((b.inputs as { shape: number[] }[])[0]!.shape[0])!;
      const data = Array.from({ length: rows }, (_, i) => (i === 0 ? [1, 0] : [0, 1])).flat();
      return { status: 200, body: { outputs: [{ name: 'p', datatype: 'FP32', shape: [rows, 2], data }] } };
    };
    const v2 = await g2.checkRequest(requestInput(body([10, 10, 10, 10]), flip));
    expect(v2.action).toBe('flag');
    expect(v2.reasons.map((r) => r.code)).toEqual(['tensor.squeeze']);
    const logits = async (b: Record<string, unknown>) => {
      const rows = ((b.inputs as { shape: number[] }[])[0]!.shape[0])!;
      return { status: 200, body: { outputs: [{ name: 'z', datatype: 'FP32', shape: [rows, 2], data: new Array(rows * 2).fill(3) }] } };
    };
    const v3 = await g2.checkRequest(requestInput(body([10, 10, 10, 10]), logits));
    expect(v3.action).toBe('allow');
    expect(v3.reasons[0]!.code).toBe('tensor.squeeze-skipped');
  });
});

describe('baseline files', () => {
  it('round-trips through an atomic write and refuses bad files with a coded error', () => {
    const file = join(dir, 'b.json');
    writeBaseline(file, baseline);
    expect(JSON.stringify(readBaseline(file))).toBe(JSON.stringify(baseline));
    const bad = (text: string) => {
      try {
        parseBaseline(text);
        return null;
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(bad('not json')).toBe('RAMPART_ERR_TENSOR_BASELINE_INVALID');
    expect(bad(JSON.stringify({ ...baseline, version: 2 }))).toBe('RAMPART_ERR_TENSOR_BASELINE_INVALID');
    expect(bad(JSON.stringify({ ...baseline, range: { min: [1], max: baseline.range.max } }))).toBe('RAMPART_ERR_TENSOR_BASELINE_INVALID');
    expect(() => readBaseline(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'RAMPART_ERR_TENSOR_BASELINE_INVALID' }));
  });

  it('rampart baseline -o: writes into a FIFO (never renamed over it), follows a symbolic link, leaves nothing on failure', async () => {
    const fifo = makeFifo(dir, 'baseline-pipe');
    if (fifo) {
      const got = drainFifo(fifo);
      writeBaseline(fifo, baseline);
      expect(JSON.stringify(parseBaseline((await got).toString()))).toBe(JSON.stringify(baseline));
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
    const real = join(dir, 'linked-baseline.json');
    const link = join(dir, 'baseline-link.json');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    writeBaseline(link, baseline);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.stringify(readBaseline(real))).toBe(JSON.stringify(baseline));
    expect(() => writeBaseline(join(dir, 'no-such-folder', 'b.json'), baseline)).toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads v2 request logs, gzip CSV with a label column, and refuses ragged or non-numeric input', async () => {
    const jsonl = join(dir, 'req.jsonl');
    writeFileSync(jsonl, Array.from({ length: 6 }, (_, i) => JSON.stringify({ inputs: [{ name: 'img', datatype: 'FP32', shape: [2, 2, 2], data: [i, 1, 2, 3, 4, 5, 6, 7] }] })).join('\n'));
    const r = await readBaselineRows(jsonl);
    expect([r.n, r.d, r.inputName, r.datatype, r.rowShape]).toEqual([12, 4, 'img', 'FP32', [2, 2]]);
    const csv = join(dir, 'digits.csv.gz');
    writeFileSync(csv, gzipSync(Array.from({ length: 20 }, (_, i) => `${i % 16},${(i * 3) % 16},1,2,${i % 10}`).join('\n')));
    const c = await readBaselineRows(csv, { label: '4', imageShape: [2, 2] });
    expect([c.n, c.d, c.rowShape]).toEqual([20, 4, [4]]);
    const code = async (p: Promise<unknown>) => p.then(() => null, (e: { code?: string }) => e.code);
    writeFileSync(join(dir, 'ragged.jsonl'), [JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }), JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })].join('\n'));
    expect(await code(readBaselineRows(join(dir, 'ragged.jsonl')))).toBe('RAMPART_ERR_TENSOR_BASELINE_INPUT');
    writeFileSync(join(dir, 'text.csv'), 'a,b\n1,x\n2,3\n');
    expect(await code(readBaselineRows(join(dir, 'text.csv')))).toBe('RAMPART_ERR_TENSOR_BASELINE_INPUT');
    expect(await code(readBaselineRows(csv, { label: '4', imageShape: [3, 3] }))).toBe('RAMPART_ERR_TENSOR_BASELINE_INPUT');
    expect(await code(readBaselineRows(join(dir, 'nope.csv')))).toBe('RAMPART_ERR_FILE_NOT_FOUND');
    expect(readFileSync(jsonl, 'utf8').length).toBeGreaterThan(0);
  });
});
