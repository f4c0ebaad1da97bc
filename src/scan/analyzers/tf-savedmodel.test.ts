// Good/bad fixtures for the TensorFlow SavedModel analyzer, asserting exact findings.
import { describe, expect, it } from 'vitest';
import { looksLikeOnnx } from './onnx.js';
import { tfSavedModelAnalyzer } from './tf-savedmodel.js';
import { runAnalyzer } from './testing/model-context.js';
import { KERAS_LAMBDA_KERAS2 } from './testing/keras-fixtures.js';
import { buildKerasMetadata, buildSavedModel, standardNodes, str } from './testing/tf-fixtures.js';

const denseMeta = JSON.stringify({ name: 'dense', trainable: true, expects_training_arg: false, class_name: 'Dense', config: { name: 'dense', units: 4 } });
const lambdaMeta = JSON.stringify({ name: 'lambda', class_name: 'Lambda', config: KERAS_LAMBDA_KERAS2.config });

describe('TensorFlow SavedModel analyzer', () => {
  it('a realistic SavedModel (checkpoint save/restore functions, Keras layer metadata) is detected and clean', async () => {
    const bytes = buildSavedModel({ kerasMetadata: [denseMeta] });
    const ctx = await runAnalyzer(tfSavedModelAnalyzer, bytes);
    expect(ctx.detected).toBe(true);
    expect(looksLikeOnnx(bytes)).toBe(false);
    expect(ctx.findings).toEqual([]);
  });

  it('WriteFile and PyFunc in the graph or a function are critical', async () => {
    const ctx = await runAnalyzer(
      tfSavedModelAnalyzer,
      buildSavedModel({
        nodes: [...standardNodes(), { name: 'evil/write', op: 'WriteFile', input: ['path', 'contents'] }],
        functions: [{ name: '__inference_call_9', nodes: [{ name: 'py', op: 'EagerPyFunc', attr: { token: { s: str('pyfunc_0') } } }] }],
      }),
    );
    expect(ctx.findings.map((f) => [f.ruleId, f.details?.op, f.details?.where])).toEqual([
      ['RMP-TF-001', 'WriteFile', 'graph'],
      ['RMP-TF-001', 'EagerPyFunc', 'function __inference_call_9'],
    ]);
  });

  it('ReadFile, Debug ops and PrintV2 to a file are high; PrintV2 to stderr is fine', async () => {
    const ctx = await runAnalyzer(
      tfSavedModelAnalyzer,
      buildSavedModel({
        functions: [
          {
            name: 'f',
            nodes: [
              { name: 'r', op: 'ReadFile', input: ['Const'] },
              { name: 'd', op: 'DebugIdentityV2', input: ['x'] },
              { name: 'p1', op: 'PrintV2', input: ['s'], attr: { output_stream: { s: str('file:///home/user/.bashrc') } } },
              { name: 'p2', op: 'PrintV2', input: ['s'], attr: { output_stream: { s: str('stderr') } } },
              { name: 'm', op: 'MatchingFiles', input: ['pattern'] },
            ],
          },
        ],
      }),
    );
    expect(ctx.findings.map((f) => [f.ruleId, f.details?.op])).toEqual([
      ['RMP-TF-002', 'ReadFile'],
      ['RMP-TF-002', 'DebugIdentityV2'],
      ['RMP-TF-002', 'PrintV2'],
      ['RMP-TF-003', 'MatchingFiles'],
    ]);
  });

  it('a Lambda layer in the object graph metadata is critical', async () => {
    const ctx = await runAnalyzer(tfSavedModelAnalyzer, buildSavedModel({ kerasMetadata: [denseMeta, lambdaMeta] }));
    expect(ctx.ruleIds).toEqual(['RMP-KERAS-001']);
  });

  it('keras_metadata.pb: benign is clean, a Lambda layer is critical', async () => {
    const benign = buildKerasMetadata([JSON.stringify({ class_name: 'Sequential', config: { name: 'sequential', layers: [] } }), denseMeta]);
    const ok = await runAnalyzer(tfSavedModelAnalyzer, benign, 'keras_metadata.pb');
    expect(ok.detected).toBe(true);
    expect(ok.findings).toEqual([]);
    const bad = await runAnalyzer(tfSavedModelAnalyzer, buildKerasMetadata([denseMeta, lambdaMeta]), 'keras_metadata.pb');
    expect(bad.ruleIds).toEqual(['RMP-KERAS-001']);
  });

  it('a truncated SavedModel is a malformed finding', async () => {
    const b = buildSavedModel();
    expect((await runAnalyzer(tfSavedModelAnalyzer, b.subarray(0, b.length - 3))).ruleIds).toEqual(['RMP-TF-004']);
  });
});
