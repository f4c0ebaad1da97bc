// Good/bad fixtures for the ONNX analyzer, asserting exact findings.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { looksLikeOnnx, onnxAnalyzer, unsafeLocation } from './onnx.js';
import { memorySource, RecordingContext, runAnalyzer } from './testing/model-context.js';
import { benignOnnx, buildOnnx, externalTensor } from './testing/onnx-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'rampart-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ONNX analyzer', () => {
  it('a realistic model (standard and com.microsoft ops, If subgraphs) is detected and clean', async () => {
    const ctx = await runAnalyzer(onnxAnalyzer, benignOnnx());
    expect(ctx.detected).toBe(true);
    expect(ctx.findings).toEqual([]);
  });

  it('does not take a SavedModel header or a pickle for ONNX', () => {
    expect(looksLikeOnnx(Uint8Array.from([0x08, 0x01, 0x12, 0x80, 0x80, 0x04, 0x0a]))).toBe(false);
    expect(looksLikeOnnx(Uint8Array.from([0x80, 0x04, 0x95]))).toBe(false);
  });

  it('custom operator domain, one finding per domain; local functions are not custom ops', async () => {
    const ctx = await runAnalyzer(
      onnxAnalyzer,
      buildOnnx({
        opsets: [
          { domain: '', version: 17 },
          { domain: 'evil.ops', version: 1 },
          { domain: 'my.funcs', version: 1 },
        ],
        nodes: [
          { opType: 'Backdoor', domain: 'evil.ops', name: 'n1' },
          { opType: 'Backdoor2', domain: 'evil.ops', name: 'n2' },
          { opType: 'Gelu', domain: 'my.funcs', name: 'n3' },
        ],
        functions: [{ name: 'Gelu', domain: 'my.funcs', input: ['x'], output: ['y'], node: [{ opType: 'Erf', input: ['x'], output: ['y'] }], opsetImport: [{ domain: '', version: 17 }] }],
      }),
    );
    expect(ctx.findings.map((f) => [f.ruleId, f.location?.record, f.details?.nodes])).toEqual([['RMP-ONNX-002', 'evil.ops', 2]]);
  });

  it('onnxruntime-extensions domain is reported low', async () => {
    const ctx = await runAnalyzer(onnxAnalyzer, buildOnnx({ nodes: [{ opType: 'StringRegexReplace', domain: 'ai.onnx.contrib' }] }));
    expect(ctx.findings.map((f) => [f.ruleId, f.severity])).toEqual([['RMP-ONNX-002', 'low']]);
  });

  it('PythonOp is high, ATen medium', async () => {
    const ctx = await runAnalyzer(
      onnxAnalyzer,
      buildOnnx({ nodes: [{ opType: 'PythonOp', domain: 'com.microsoft', name: 'py' }, { opType: 'ATen', domain: 'org.pytorch.aten', name: 'aten' }] }),
    );
    expect(ctx.findings.map((f) => [f.ruleId, f.severity ?? 'default'])).toEqual([
      ['RMP-ONNX-003', 'high'],
      ['RMP-ONNX-003', 'medium'],
      ['RMP-ONNX-002', 'default'],
    ]);
  });

  it.each([
    ['/etc/shadow', 'is an absolute path'],
    ['../../../home/user/.ssh/id_rsa', 'climbs out of the model directory with ".."'],
    ['weights/../../secret.bin', 'climbs out of the model directory with ".."'],
    ['C:\\Windows\\win.ini', 'is an absolute path'],
    ['https://attacker.example/w.bin', 'is a URL'],
  ])('external data location %s escapes the model directory', async (location, why) => {
    expect(unsafeLocation(location)).toBe(why);
    const ctx = await runAnalyzer(onnxAnalyzer, buildOnnx({ initializers: [externalTensor('w', location)] }));
    expect(ctx.ruleIds).toEqual(['RMP-ONNX-001']);
    expect(ctx.findings[0]!.location?.record).toBe('w');
  });

  it('external data inside a subgraph attribute tensor is found too', async () => {
    const ctx = await runAnalyzer(
      onnxAnalyzer,
      buildOnnx({ nodes: [{ opType: 'Constant', attribute: [{ name: 'value', type: 4, t: externalTensor('c', '/etc/passwd') }] }] }),
    );
    expect(ctx.ruleIds).toEqual(['RMP-ONNX-001']);
  });

  it('on disk: relative data next to the model is fine, a missing file is low, a symlink out is high', async () => {
    const dir = path.join(tmp, 'model');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(16));
    writeFileSync(path.join(tmp, 'outside.bin'), new Uint8Array(16));
    symlinkSync(path.join(tmp, 'outside.bin'), path.join(dir, 'link.bin'));
    const bytes = buildOnnx({
      initializers: [externalTensor('ok', 'weights.bin'), externalTensor('gone', 'missing.bin'), externalTensor('link', 'link.bin')],
    });
    const ctx = new RecordingContext(path.join(dir, 'model.onnx'));
    await onnxAnalyzer.analyze(memorySource(bytes), ctx);
    expect(ctx.findings.map((f) => [f.ruleId, f.location?.record])).toEqual([
      ['RMP-ONNX-005', 'gone'],
      ['RMP-ONNX-001', 'link'],
    ]);
  });

  it('truncated or corrupted protobuf is a malformed finding', async () => {
    const good = benignOnnx();
    expect((await runAnalyzer(onnxAnalyzer, good.subarray(0, good.length - 5))).ruleIds).toEqual(['RMP-ONNX-004']);
    const bad = Uint8Array.from([...good.subarray(0, 20), 0x0f, 0x00]);
    expect((await runAnalyzer(onnxAnalyzer, bad)).ruleIds).toContain('RMP-ONNX-004');
  });

  it('never reads tensor payloads', async () => {
    const big = buildOnnx({ initializers: [{ name: 'w', dims: [1 << 20], dataType: 1, rawData: new Uint8Array(4 << 20) }] });
    let bytesRead = 0;
    const src = memorySource(big);
    const counting = { size: src.size, read: async (o: number, l: number) => { const b = await src.read(o, l); bytesRead += b.length; return b; } };
    const ctx = new RecordingContext();
    await onnxAnalyzer.analyze(counting, ctx);
    expect(ctx.findings).toEqual([]);
    expect(bytesRead).toBeLessThan(256 * 1024);
  });
});
