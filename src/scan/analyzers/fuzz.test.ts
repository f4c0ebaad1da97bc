// Fuzz-style robustness test of the model-format analyzers (safetensors, GGUF, ONNX, Keras config,
// Keras HDF5, SavedModel): benign samples are mutated with a seeded PRNG (byte flips, truncations,
// length-field overwrites, insertions, deletions) and each analyzer must finish quickly without
// throwing. The run is deterministic, so a failure reproduces from the printed seed and case.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../limits.js';
import type { Analyzer, ScanLimits } from '../types.js';
import { chatTemplateAnalyzer } from './chat-template.js';
import { ggufAnalyzer } from './gguf.js';
import { kerasConfigAnalyzer } from './keras-config.js';
import { kerasH5Analyzer } from './keras-h5.js';
import { onnxAnalyzer } from './onnx.js';
import { safetensorsAnalyzer } from './safetensors.js';
import { tfSavedModelAnalyzer } from './tf-savedmodel.js';
import { memorySource, RecordingContext } from './testing/model-context.js';
import { BENIGN_TEMPLATES, buildGguf, MALICIOUS_TEMPLATES } from './testing/gguf-fixtures.js';
import { buildKerasH5 } from './testing/h5-fixtures.js';
import { KERAS_LAMBDA_KERAS3, keras2Config, keras3Config } from './testing/keras-fixtures.js';
import { benignOnnx, buildOnnx, externalTensor } from './testing/onnx-fixtures.js';
import { benignSafetensors } from './testing/safetensors-fixtures.js';
import { buildSavedModel } from './testing/tf-fixtures.js';

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  let b = input.slice();
  const ops = 1 + pick(4);
  for (let k = 0; k < ops && b.length > 0; k++) {
    switch (pick(6)) {
      case 0: // flip bits
        for (let i = 0; i < 1 + pick(8); i++) b[pick(b.length)]! ^= 1 << pick(8);
        break;
      case 1: // truncate
        b = b.subarray(0, pick(b.length));
        break;
      case 2: {
        // overwrite a 4- or 8-byte little-endian length-like field with an interesting value
        const at = pick(Math.max(1, b.length - 8));
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        const v = INTERESTING[pick(INTERESTING.length)]!;
        if (at + 8 <= b.length && rnd() < 0.5) dv.setBigUint64(at, BigInt(v) * (rnd() < 0.3 ? 1n << 32n : 1n), true);
        else if (at + 4 <= b.length) dv.setUint32(at, v, true);
        break;
      }
      case 3: {
        // varint-style byte set (protobuf lengths)
        const at = pick(b.length);
        b[at] = [0xff, 0x80, 0x7f, 0x00, 0x0a, 0x12][pick(6)]!;
        break;
      }
      case 4: {
        // insert random bytes
        const at = pick(b.length);
        const ins = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
        break;
      }
      default: {
        // delete a range
        const at = pick(b.length);
        const n = Math.min(1 + pick(32), b.length - at);
        const out = new Uint8Array(b.length - n);
        out.set(b.subarray(0, at));
        out.set(b.subarray(at + n), at);
        b = out;
      }
    }
  }
  return b;
}

async function fuzz(
  analyzer: Analyzer,
  samples: Uint8Array[],
  iterations: number,
  seed: number,
  limits: ScanLimits = { ...DEFAULT_LIMITS },
): Promise<{ runs: number; withFindings: number; slowestMs: number }> {
  const rnd = prng(seed);
  let withFindings = 0;
  let slowestMs = 0;
  for (let i = 0; i < iterations; i++) {
    const input = mutate(samples[i % samples.length]!, rnd);
    const ctx = new RecordingContext(`fuzz-${seed}-${i}`, 0, limits);
    const src = memorySource(input);
    const t0 = performance.now();
    try {
      await analyzer.detect(input.subarray(0, 65536), src, 'fuzz');
      await analyzer.analyze(src, ctx);
    } catch (e) {
      throw new Error(`${analyzer.id} threw on seed ${seed} case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    if (ctx.findings.length > 0) withFindings++;
  }
  return { runs: iterations, withFindings, slowestMs };
}

/** Iterations scale with RAMPART_FUZZ_SCALE (default 1) for longer local runs. */
const N = (n: number): number => Math.max(1, Math.round(n * Number(process.env.RAMPART_FUZZ_SCALE ?? '1')));

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('fuzzing the model-format analyzers', () => {

  it('safetensors', async () => {
    const r = await fuzz(safetensorsAnalyzer, [benignSafetensors()], N(1500), 1);
    expect(r.withFindings).toBeGreaterThan(r.runs / 2);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('GGUF', async () => {
    const samples = [
      buildGguf(
        {
          'general.architecture': { type: 'str', v: 'llama' },
          'general.alignment': { type: 'u32', v: 32 },
          'tokenizer.ggml.tokens': { type: 'arr-str', v: ['<s>', '</s>', 'a'] },
          'tokenizer.ggml.token_type': { type: 'arr-i32', v: [3, 3, 1] },
          'tokenizer.chat_template': { type: 'str', v: BENIGN_TEMPLATES.llama3! },
        },
        [{ name: 'w', dims: [8, 4], type: 0, offset: 0 }],
        { dataBytes: 128 },
      ),
      buildGguf({ 'tokenizer.chat_template': { type: 'str', v: MALICIOUS_TEMPLATES.cve202434359!.template } }, [], { version: 1 }),
    ];
    const r = await fuzz(ggufAnalyzer, samples, N(1500), 2);
    expect(r.withFindings).toBeGreaterThan(r.runs / 2);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('ONNX', async () => {
    const samples = [benignOnnx(), buildOnnx({ initializers: [externalTensor('w', 'weights.bin')], nodes: [{ opType: 'Custom', domain: 'x.y' }] })];
    const r = await fuzz(onnxAnalyzer, samples, N(1500), 3);
    expect(r.withFindings).toBeGreaterThan(r.runs / 4);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('Keras config', async () => {
    const r = await fuzz(kerasConfigAnalyzer, [json(keras3Config([KERAS_LAMBDA_KERAS3])), json(keras2Config())], N(800), 4);
    expect(r.withFindings).toBeGreaterThan(r.runs / 2);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('chat templates (tokenizer_config.json)', async () => {
    const cfg = (t: string) => json({ bos_token: '<s>', eos_token: '</s>', tokenizer_class: 'LlamaTokenizer', chat_template: t });
    const r = await fuzz(chatTemplateAnalyzer, [cfg(BENIGN_TEMPLATES.llama31Tools!), cfg(MALICIOUS_TEMPLATES.formatChars!.template)], N(800), 7);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('TensorFlow SavedModel', async () => {
    const r = await fuzz(tfSavedModelAnalyzer, [buildSavedModel({ kerasMetadata: [JSON.stringify({ class_name: 'Dense', config: { name: 'd' } })] })], N(1000), 5);
    expect(r.slowestMs).toBeLessThan(2000);
  });

  it('Keras HDF5 (h5wasm)', async () => {
    const sample = await buildKerasH5({ model_config: JSON.stringify(keras2Config()) });
    // The HDF5 library can spin on corrupt files; the analyzer's worker is cut off at the time
    // budget (2 s here) and the file gets a finding.
    const r = await fuzz(kerasH5Analyzer, [sample], N(25), 6, { ...DEFAULT_LIMITS, timeoutMs: 2000 });
    expect(r.withFindings).toBeGreaterThan(0);
    expect(r.slowestMs).toBeLessThan(6000);
  }, 120_000);
});
