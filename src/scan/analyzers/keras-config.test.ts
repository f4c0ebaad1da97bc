// Good/bad fixtures for the Keras config checks, asserting exact findings.
import { describe, expect, it } from 'vitest';
import { kerasConfigAnalyzer, marshalNames, marshalledCode } from './keras-config.js';
import { runAnalyzer } from './testing/model-context.js';
import { KERAS_LAMBDA_KERAS2, KERAS_LAMBDA_KERAS3, keras2Config, keras3Config } from './testing/keras-fixtures.js';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2));

describe('Keras config analyzer', () => {
  it('realistic Keras 3 and Keras 2 configs are detected and clean', async () => {
    for (const cfg of [keras3Config(), keras2Config()]) {
      const ctx = await runAnalyzer(kerasConfigAnalyzer, json(cfg));
      expect(ctx.detected).toBe(true);
      expect(ctx.findings).toEqual([]);
    }
  });

  it('metadata.json and other JSON are not taken for a config', async () => {
    expect((await runAnalyzer(kerasConfigAnalyzer, json({ keras_version: '3.3.3', date_saved: '2024-05-01@12:00:00' }))).detected).toBe(false);
    expect((await runAnalyzer(kerasConfigAnalyzer, json({ bos_token: '<s>', chat_template: '{{ x }}' }))).detected).toBe(false);
  });

  it('Lambda with marshalled bytecode (Keras 2 and Keras 3 layouts) is critical and names what it uses', async () => {
    for (const cfg of [keras2Config([KERAS_LAMBDA_KERAS2]), keras3Config([KERAS_LAMBDA_KERAS3])]) {
      const ctx = await runAnalyzer(kerasConfigAnalyzer, json(cfg));
      expect(ctx.ruleIds).toEqual(['RMP-KERAS-001']);
      expect(ctx.findings[0]!.location?.record).toBe('lambda');
      expect(ctx.findings[0]!.details?.names).toEqual(['os', 'system']);
    }
  });

  it('module/class_name reaching os.system or keras.utils.get_file is critical (CVE-2025-1550, CVE-2025-8747)', async () => {
    const osSystem = { module: 'os', class_name: 'function', config: 'system', registered_name: 'function' };
    const getFile = {
      module: 'keras.utils',
      class_name: 'function',
      config: 'get_file',
      registered_name: 'get_file',
    };
    const cfg = keras3Config([
      { module: 'keras.layers', class_name: 'Activation', config: { name: 'act', activation: osSystem }, registered_name: null },
      { module: 'keras.layers', class_name: 'Activation', config: { name: 'act2', activation: getFile }, registered_name: null },
    ]);
    const ctx = await runAnalyzer(kerasConfigAnalyzer, json(cfg));
    expect(ctx.findings.map((f) => [f.ruleId, f.details?.module, f.details?.name])).toEqual([
      ['RMP-KERAS-003', 'os', 'system'],
      ['RMP-KERAS-003', 'keras.utils', 'get_file'],
    ]);
  });

  it('custom layer from an unknown module is medium, reported once per class', async () => {
    const custom = { module: 'my_project.layers', class_name: 'Attention', config: { name: 'attn' }, registered_name: 'my_project>Attention' };
    const ctx = await runAnalyzer(kerasConfigAnalyzer, json(keras3Config([custom, { ...custom, config: { name: 'attn2' } }])));
    expect(ctx.findings.map((f) => [f.ruleId, f.location?.record])).toEqual([['RMP-KERAS-002', 'attn']]);
  });

  it('Lambda calling a named function: high outside Keras, medium inside', async () => {
    const byName = { class_name: 'Lambda', config: { name: 'l1', function: 'preprocess', function_type: 'function', module: '__main__' }, name: 'l1' };
    const trusted = {
      module: 'keras.layers',
      class_name: 'Lambda',
      config: { name: 'l2', function: { module: 'keras.ops', class_name: 'function', config: 'sqrt', registered_name: 'function' } },
      registered_name: null,
    };
    const ctx = await runAnalyzer(kerasConfigAnalyzer, json(keras3Config([byName, trusted])));
    expect(ctx.findings.map((f) => [f.ruleId, f.severity ?? 'default', f.location?.record])).toEqual([
      ['RMP-KERAS-004', 'default', 'l1'],
      ['RMP-KERAS-004', 'medium', 'l2'],
    ]);
  });

  it('invalid JSON is a malformed finding', async () => {
    const ctx = await runAnalyzer(kerasConfigAnalyzer, new TextEncoder().encode('{"class_name": "Sequential", "config": {'));
    expect(ctx.ruleIds).toEqual(['RMP-KERAS-005']);
  });

  it('recognises marshalled code only when it decodes to a code object', () => {
    expect(marshalledCode(Buffer.from('hello world, this is text').toString('base64'))).toBeUndefined();
    const code = marshalledCode(KERAS_LAMBDA_KERAS2.config.function[0] as string)!;
    expect(marshalNames(code)).toEqual(['os', 'system']);
  });
});
