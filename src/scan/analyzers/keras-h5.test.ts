// Good/bad fixtures for the legacy Keras HDF5 analyzer, asserting exact findings.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../limits.js';
import { H5_IDLE_MS, h5WorkerRunning, kerasH5Analyzer } from './keras-h5.js';
import { memorySource, RecordingContext, runAnalyzer } from './testing/model-context.js';
import { buildKerasH5, TRAINING_CONFIG } from './testing/h5-fixtures.js';
import { KERAS_LAMBDA_KERAS2, keras2Config } from './testing/keras-fixtures.js';

describe('Keras HDF5 analyzer', () => {
  it('a realistic tf.keras .h5 is detected and clean', async () => {
    const bytes = await buildKerasH5({ keras_version: '2.13.1', backend: 'tensorflow', model_config: JSON.stringify(keras2Config()), training_config: TRAINING_CONFIG });
    const ctx = await runAnalyzer(kerasH5Analyzer, bytes);
    expect(ctx.detected).toBe(true);
    expect(ctx.findings).toEqual([]);
  });

  it('an HDF5 file without Keras attributes (weights only) is clean', async () => {
    expect((await runAnalyzer(kerasH5Analyzer, await buildKerasH5({}))).findings).toEqual([]);
  });

  it('a Lambda layer with bytecode in model_config is critical', async () => {
    const bytes = await buildKerasH5({ model_config: JSON.stringify(keras2Config([KERAS_LAMBDA_KERAS2])), training_config: TRAINING_CONFIG });
    const ctx = await runAnalyzer(kerasH5Analyzer, bytes);
    expect(ctx.findings.map((f) => [f.ruleId, f.location?.record])).toEqual([['RMP-KERAS-001', 'lambda']]);
    expect(ctx.findings[0]!.message).toMatch(/^model_config: /);
  });

  it('a dangerous custom object in training_config is critical', async () => {
    const tc = JSON.stringify({ loss: { module: 'os', class_name: 'function', config: 'system', registered_name: 'function' } });
    const ctx = await runAnalyzer(kerasH5Analyzer, await buildKerasH5({ model_config: JSON.stringify(keras2Config()), training_config: tc }));
    expect(ctx.ruleIds).toEqual(['RMP-KERAS-003']);
  });

  it('model_config that is not JSON is a malformed-config finding', async () => {
    const ctx = await runAnalyzer(kerasH5Analyzer, await buildKerasH5({ model_config: '{"class_name": ' }));
    expect(ctx.ruleIds).toEqual(['RMP-KERAS-005']);
  });

  it('a corrupted HDF5 structure is reported, not thrown', async () => {
    const bytes = await buildKerasH5({ model_config: JSON.stringify(keras2Config()) });
    const broken = bytes.slice(0, 600);
    broken.fill(0xab, 16, 200);
    const ctx = await runAnalyzer(kerasH5Analyzer, broken);
    expect(ctx.ruleIds).toEqual(['RMP-KERAS-006']);
  });

  it('files over the copy limit are searched for the config instead', async () => {
    const bytes = await buildKerasH5({ model_config: JSON.stringify(keras2Config([KERAS_LAMBDA_KERAS2])) });
    const ctx = new RecordingContext('big.h5', 0, { ...DEFAULT_LIMITS, maxHeaderBytes: 1024 });
    await kerasH5Analyzer.analyze(memorySource(bytes), ctx);
    expect(ctx.ruleIds).toContain('RMP-KERAS-001');
  });

  it('a file the HDF5 library does not finish in time gets a finding, and the next file still scans (regression: fuzz found a spinning input)', async () => {
    const bytes = await buildKerasH5({ model_config: JSON.stringify(keras2Config([KERAS_LAMBDA_KERAS2])) });
    // The scan's time budget is already spent (aborted signal): the worker is cut off at once.
    const spent = new AbortController();
    spent.abort();
    const slow = new RecordingContext('slow.h5', 0, { ...DEFAULT_LIMITS }, spent.signal);
    await kerasH5Analyzer.analyze(memorySource(bytes), slow);
    expect(slow.ruleIds).toEqual(['RMP-KERAS-006']);
    const next = new RecordingContext('next.h5');
    await kerasH5Analyzer.analyze(memorySource(bytes), next);
    expect(next.ruleIds).toEqual(['RMP-KERAS-001']);
  });

  it('no worker thread outlives the scan (regression: the CLI hung after scanning an .h5 file)', async () => {
    const bytes = await buildKerasH5({ model_config: JSON.stringify(keras2Config()) });
    await Promise.all([1, 2, 3].map(() => kerasH5Analyzer.analyze(memorySource(bytes), new RecordingContext())));
    await new Promise((r) => setTimeout(r, H5_IDLE_MS + 100));
    expect(h5WorkerRunning()).toBe(false);
  });
});
