// Good/bad fixtures for each safetensors check, asserting the exact findings.
import { describe, expect, it } from 'vitest';
import { safetensorsAnalyzer } from './safetensors.js';
import { RecordingContext, runAnalyzer } from './testing/model-context.js';
import { benignSafetensors, buildSafetensors } from './testing/safetensors-fixtures.js';

const t = (dtype: string, shape: number[], n: number) => ({ dtype, shape, data: new Uint8Array(n) });

function withHeader(json: string, dataLen = 0): Uint8Array {
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  return out;
}

describe('safetensors analyzer', () => {
  it('a realistic state dict is detected and clean', async () => {
    const ctx = await runAnalyzer(safetensorsAnalyzer, benignSafetensors());
    expect(ctx.detected).toBe(true);
    expect(ctx.findings).toEqual([]);
  });

  it('does not detect other content', async () => {
    const ctx = await runAnalyzer(safetensorsAnalyzer, new TextEncoder().encode('\x80\x04\x95 not safetensors at all'));
    expect(ctx.detected).toBe(false);
  });

  it('header length larger than the file', async () => {
    const b = withHeader('{}');
    new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
    expect((await runAnalyzer(safetensorsAnalyzer, b)).ruleIds).toEqual(['RMP-SAFETENSORS-001']);
  });

  it('zero header length', async () => {
    expect((await runAnalyzer(safetensorsAnalyzer, new Uint8Array(8))).ruleIds).toEqual(['RMP-SAFETENSORS-001']);
  });

  it('header length over the 100 MB cap even when the file is that large, without reading it', async () => {
    const head = new Uint8Array(16);
    new DataView(head.buffer).setBigUint64(0, 100_000_001n, true);
    head[8] = 0x7b;
    let maxRead = 0;
    const source = {
      size: 300_000_000,
      read: async (offset: number, length: number) => {
        maxRead = Math.max(maxRead, length);
        return offset < 16 ? head.subarray(offset, Math.min(16, offset + length)) : new Uint8Array(Math.min(length, 16));
      },
    };
    const ctx = new RecordingContext();
    await safetensorsAnalyzer.analyze(source, ctx);
    expect(ctx.ruleIds).toEqual(['RMP-SAFETENSORS-001']);
    expect(maxRead).toBeLessThanOrEqual(8);
  });

  it('invalid JSON, non-object and garbage after the JSON', async () => {
    expect((await runAnalyzer(safetensorsAnalyzer, withHeader('{"a": '))).ruleIds).toEqual(['RMP-SAFETENSORS-002']);
    expect((await runAnalyzer(safetensorsAnalyzer, withHeader('[1,2]'))).ruleIds).toEqual(['RMP-SAFETENSORS-002']);
    expect((await runAnalyzer(safetensorsAnalyzer, withHeader('{}\u0000\u0000'))).ruleIds).toEqual(['RMP-SAFETENSORS-002']);
    const bad = withHeader('{"x":1}');
    bad[10] = 0xff;
    expect((await runAnalyzer(safetensorsAnalyzer, bad)).ruleIds).toEqual(['RMP-SAFETENSORS-002']);
  });

  it('unknown dtype, bad shape, missing offsets', async () => {
    const ctx = await runAnalyzer(
      safetensorsAnalyzer,
      buildSafetensors({ a: t('F32', [1], 4) }, undefined, {
        mutateHeader: (h) => {
          h.b = { dtype: 'PYOBJ', shape: [1], data_offsets: [0, 4] };
          h.c = { dtype: 'F32', shape: [-1], data_offsets: [0, 4] };
          h.d = { dtype: 'F32', shape: [1] };
        },
      }),
    );
    expect(ctx.ruleIds).toEqual(['RMP-SAFETENSORS-003', 'RMP-SAFETENSORS-003', 'RMP-SAFETENSORS-003']);
    expect(ctx.findings.map((f) => f.location?.record)).toEqual(['b', 'c', 'd']);
  });

  it('offsets out of bounds, overlapping, or not matching shape × dtype', async () => {
    const oob = buildSafetensors({ a: t('F32', [2], 8) }, undefined, {
      mutateHeader: (h) => {
        h.a = { dtype: 'F32', shape: [2], data_offsets: [0, 4096] };
      },
    });
    expect((await runAnalyzer(safetensorsAnalyzer, oob)).ruleIds).toEqual(['RMP-SAFETENSORS-004', 'RMP-SAFETENSORS-005']);
    const overlap = buildSafetensors({ a: t('F32', [2], 8), b: t('F32', [2], 8) }, undefined, {
      mutateHeader: (h) => {
        h.b = { dtype: 'F32', shape: [2], data_offsets: [4, 12] };
      },
    });
    expect((await runAnalyzer(safetensorsAnalyzer, overlap)).ruleIds).toEqual(['RMP-SAFETENSORS-004', 'RMP-SAFETENSORS-005']);
    const size = buildSafetensors({ a: t('F32', [3], 8) });
    expect((await runAnalyzer(safetensorsAnalyzer, size)).ruleIds).toEqual(['RMP-SAFETENSORS-004']);
    const huge = buildSafetensors({ a: t('F64', [2 ** 30, 2 ** 30, 2 ** 30], 8) });
    expect((await runAnalyzer(safetensorsAnalyzer, huge)).ruleIds).toEqual(['RMP-SAFETENSORS-004']);
  });

  it('hidden bytes after the last tensor or between tensors', async () => {
    const payload = new TextEncoder().encode('\x80\x04cos\nsystem\n');
    const trailing = buildSafetensors({ a: t('U8', [4], 4) }, undefined, { trailing: payload });
    const ctx = await runAnalyzer(safetensorsAnalyzer, trailing);
    expect(ctx.ruleIds).toEqual(['RMP-SAFETENSORS-005']);
    expect(ctx.findings[0]!.details).toEqual({ gapBytes: 0, trailingBytes: payload.length });
    const gap = buildSafetensors({ a: t('U8', [4], 4), b: t('U8', [4], 8) }, undefined, {
      mutateHeader: (h) => {
        h.b = { dtype: 'U8', shape: [4], data_offsets: [8, 12] };
      },
    });
    expect((await runAnalyzer(safetensorsAnalyzer, gap)).findings.map((f) => [f.ruleId, f.details])).toEqual([
      ['RMP-SAFETENSORS-005', { gapBytes: 4, trailingBytes: 0 }],
    ]);
  });

  it('__metadata__ with non-string values', async () => {
    const ctx = await runAnalyzer(safetensorsAnalyzer, buildSafetensors({ a: t('U8', [1], 1) }, { format: 'pt', layers: 3 }));
    expect(ctx.ruleIds).toEqual(['RMP-SAFETENSORS-006']);
  });

  it('caps repeated findings of one rule', async () => {
    const ctx = await runAnalyzer(
      safetensorsAnalyzer,
      buildSafetensors({}, undefined, {
        mutateHeader: (h) => {
          for (let i = 0; i < 50; i++) h[`t${i}`] = { dtype: 'X', shape: [], data_offsets: [0, 0] };
        },
      }),
    );
    expect(ctx.ruleIds.filter((r) => r === 'RMP-SAFETENSORS-003')).toHaveLength(21);
  });
});
