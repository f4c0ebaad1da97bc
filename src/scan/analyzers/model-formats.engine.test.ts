// The model-format analyzers through the real scan engine: detection by content among all
// analyzers, Keras v3 `.keras` archives opened by the zip analyzer, and the acceptance
// rule — benign files of every format give nothing at medium or above, malicious ones are caught
// at high or critical.
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { severityRank, type Finding } from '../../core/types.js';
import { scanBuffer } from '../engine.js';
import { BENIGN_TEMPLATES, buildGguf, MALICIOUS_TEMPLATES } from './testing/gguf-fixtures.js';
import { buildKerasH5, TRAINING_CONFIG } from './testing/h5-fixtures.js';
import { KERAS_LAMBDA_KERAS2, KERAS_LAMBDA_KERAS3, keras2Config, keras3Config } from './testing/keras-fixtures.js';
import { benignOnnx, buildOnnx, externalTensor } from './testing/onnx-fixtures.js';
import { benignSafetensors, buildSafetensors } from './testing/safetensors-fixtures.js';
import { buildSavedModel, standardNodes } from './testing/tf-fixtures.js';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function kerasArchive(config: unknown): Promise<Uint8Array> {
  const weights = await buildKerasH5({}, true);
  return zipSync({
    'metadata.json': enc({ keras_version: '3.3.3', date_saved: '2024-05-01@12:00:00' }),
    'config.json': enc(config),
    'model.weights.h5': weights,
  });
}

const atLeast = (fs: Finding[], s: 'medium' | 'high') => fs.filter((f) => severityRank(f.severity) >= severityRank(s));

describe('model formats through the scan engine', () => {
  it('benign files of every model format give nothing at medium or above', async () => {
    const files: Array<[string, Uint8Array]> = [
      ['model.safetensors', benignSafetensors()],
      ['model.gguf', buildGguf({ 'general.architecture': { type: 'str', v: 'llama' }, 'tokenizer.chat_template': { type: 'str', v: BENIGN_TEMPLATES.llama31Tools! } })],
      ['model.onnx', benignOnnx()],
      ['saved_model.pb', buildSavedModel()],
      ['model.h5', await buildKerasH5({ model_config: JSON.stringify(keras2Config()), training_config: TRAINING_CONFIG })],
      ['model.keras', await kerasArchive(keras3Config())],
    ];
    const noisy: Array<{ name: string; ruleIds: string[] }> = [];
    for (const [name, bytes] of files) {
      const { result, findings } = await scanBuffer(bytes, name);
      // Regression: protobuf strings followed by a tag byte (`com.microsoft` + 0x0a) once read as a
      // protocol-0 GLOBAL in the embedded-pickle search and gave benign ONNX files a high finding.
      const ours = atLeast(findings, 'medium');
      if (ours.length) noisy.push({ name, ruleIds: ours.map((f) => f.ruleId) });
      expect(result.complete).toBe(true);
    }
    expect(noisy).toEqual([]);
  });

  it('each malicious sample is caught at high or critical', async () => {
    const cases: Array<[string, Uint8Array, string]> = [
      ['evil.keras', await kerasArchive(keras3Config([KERAS_LAMBDA_KERAS3])), 'RMP-KERAS-001'],
      ['evil.h5', await buildKerasH5({ model_config: JSON.stringify(keras2Config([KERAS_LAMBDA_KERAS2])) }), 'RMP-KERAS-001'],
      ['evil.gguf', buildGguf({ 'tokenizer.chat_template': { type: 'str', v: MALICIOUS_TEMPLATES.cve202434359!.template } }), 'RMP-JINJA-001'],
      ['evil.onnx', buildOnnx({ initializers: [externalTensor('w', '../../../../etc/shadow')] }), 'RMP-ONNX-001'],
      ['saved_model.pb', buildSavedModel({ nodes: [...standardNodes(), { name: 'w', op: 'WriteFile' }] }), 'RMP-TF-001'],
      ['evil.safetensors', buildSafetensors({ a: { dtype: 'U8', shape: [4], data: new Uint8Array(4) } }, undefined, { mutateHeader: (h) => (h.b = { dtype: 'F32', shape: [1], data_offsets: [0, 1 << 30] }) }), 'RMP-SAFETENSORS-004'],
    ];
    for (const [name, bytes, ruleId] of cases) {
      const { findings } = await scanBuffer(bytes, name);
      const hit = atLeast(findings, 'high').find((f) => f.ruleId === ruleId);
      expect({ name, hit: hit?.ruleId }).toEqual({ name, hit: ruleId });
    }
  });

  it('a .keras archive reports the member path and its format chain', async () => {
    const { result, findings } = await scanBuffer(await kerasArchive(keras3Config([KERAS_LAMBDA_KERAS3])), 'model.keras');
    const crit = findings.find((f) => f.ruleId === 'RMP-KERAS-001')!;
    expect(crit.file).toBe('model.keras!config.json');
    expect(crit.severity).toBe('critical');
    expect(result.formats).toContain('zip');
  });
});
