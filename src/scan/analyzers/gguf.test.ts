// Good/bad fixtures for the GGUF analyzer and its chat-template checks, asserting exact findings.
import { describe, expect, it } from 'vitest';
import { ggufAnalyzer } from './gguf.js';
import { analyzeTemplate, codeBlocks } from './jinja-template.js';
import { runAnalyzer } from './testing/model-context.js';
import { BENIGN_TEMPLATES, buildGguf, MALICIOUS_TEMPLATES } from './testing/gguf-fixtures.js';

const RULE_OF = { critical: 'RMP-JINJA-001', high: 'RMP-JINJA-002', medium: 'RMP-JINJA-003' } as const;

function benignModel(template = BENIGN_TEMPLATES.chatml!, version = 3): Uint8Array {
  return buildGguf(
    {
      'general.architecture': { type: 'str', v: 'llama' },
      'general.name': { type: 'str', v: 'tiny-test' },
      'general.alignment': { type: 'u32', v: 32 },
      'llama.context_length': { type: 'u32', v: 2048 },
      'llama.rope.freq_base': { type: 'f32', v: 10000 },
      'tokenizer.ggml.model': { type: 'str', v: 'gpt2' },
      'tokenizer.ggml.tokens': { type: 'arr-str', v: ['<s>', '</s>', 'a', 'b', 'ab'] },
      'tokenizer.ggml.token_type': { type: 'arr-i32', v: [3, 3, 1, 1, 1] },
      'tokenizer.ggml.add_bos_token': { type: 'bool', v: true },
      'tokenizer.chat_template': { type: 'str', v: template },
    },
    [
      { name: 'token_embd.weight', dims: [8, 5], type: 0, offset: 0 },
      { name: 'blk.0.attn_q.weight', dims: [32, 2], type: 8, offset: 160 },
    ],
    { version, dataBytes: 160 + 68 },
  );
}

describe('GGUF analyzer', () => {
  it.each([1, 2, 3])('a realistic v%i file is detected and clean', async (version) => {
    const ctx = await runAnalyzer(ggufAnalyzer, benignModel(BENIGN_TEMPLATES.chatml, version));
    expect(ctx.detected).toBe(true);
    expect(ctx.findings).toEqual([]);
  });

  it.each(Object.entries(BENIGN_TEMPLATES))('benign template %s gives nothing at medium or above', async (_name, template) => {
    expect(analyzeTemplate(template)).toEqual([]);
    expect((await runAnalyzer(ggufAnalyzer, benignModel(template))).findings).toEqual([]);
  });

  it.each(Object.entries(MALICIOUS_TEMPLATES))('malicious template %s is caught at its severity', async (_name, { template, severity }) => {
    const ctx = await runAnalyzer(ggufAnalyzer, benignModel(template));
    expect(ctx.findings.length).toBeGreaterThan(0);
    expect(ctx.findings[0]!.ruleId).toBe(RULE_OF[severity]);
    expect(ctx.findings[0]!.location?.record).toBe('tokenizer.chat_template');
  });

  it('checks named templates (tokenizer.chat_template.tool_use)', async () => {
    const f = buildGguf({
      'tokenizer.chat_template': { type: 'str', v: BENIGN_TEMPLATES.chatml! },
      'tokenizer.chat_template.tool_use': { type: 'str', v: MALICIOUS_TEMPLATES.cyclerGlobals!.template },
    });
    const ctx = await runAnalyzer(ggufAnalyzer, f);
    expect(new Set(ctx.findings.map((x) => x.location?.record))).toEqual(new Set(['tokenizer.chat_template.tool_use']));
  });

  it('unknown version, truncation, oversized counts and unknown value types', async () => {
    const badVersion = benignModel();
    badVersion[4] = 9;
    expect((await runAnalyzer(ggufAnalyzer, badVersion)).ruleIds).toEqual(['RMP-GGUF-001']);
    expect((await runAnalyzer(ggufAnalyzer, benignModel().subarray(0, 100))).ruleIds).toEqual(['RMP-GGUF-001']);
    const hugeCount = benignModel();
    new DataView(hugeCount.buffer).setBigUint64(16, 1n << 60n, true);
    expect((await runAnalyzer(ggufAnalyzer, hugeCount)).ruleIds).toEqual(['RMP-GGUF-001']);
    const f = buildGguf({ 'general.name': { type: 'str', v: 'x' } });
    // value type field sits after magic(4)+version(4)+counts(16)+key(8+12)
    new DataView(f.buffer).setUint32(44, 77, true);
    expect((await runAnalyzer(ggufAnalyzer, f)).ruleIds).toEqual(['RMP-GGUF-001']);
  });

  it('string longer than the file, and array over the element bound', async () => {
    const f = buildGguf({ 'general.name': { type: 'str', v: 'abc' } });
    new DataView(f.buffer).setBigUint64(48, 1n << 40n, true);
    expect((await runAnalyzer(ggufAnalyzer, f)).ruleIds).toEqual(['RMP-GGUF-001']);
    const a = buildGguf({ 'tokenizer.ggml.scores': { type: 'arr-i32', v: [1] } });
    // array count after key(8+21) at 24, type(4), elem type(4)
    new DataView(a.buffer).setBigUint64(24 + 8 + 21 + 4 + 4, 60_000_000n, true);
    expect((await runAnalyzer(ggufAnalyzer, a)).ruleIds).toEqual(['RMP-GGUF-002']);
  });

  it('tensor reaching past the end of the file or misaligned', async () => {
    const f = buildGguf({}, [{ name: 'w', dims: [1024, 1024], type: 0, offset: 0 }], { dataBytes: 64 });
    expect((await runAnalyzer(ggufAnalyzer, f)).ruleIds).toEqual(['RMP-GGUF-003']);
    const g = buildGguf({}, [{ name: 'w', dims: [4], type: 0, offset: 3 }], { dataBytes: 64 });
    expect((await runAnalyzer(ggufAnalyzer, g)).ruleIds).toEqual(['RMP-GGUF-003']);
  });

  it('ignores text, comments and raw blocks when looking for code', () => {
    expect(codeBlocks('hello __class__ {# {{ x.__class__ }} #}{% raw %}{{ y.__mro__ }}{% endraw %}{{ z }}').map((b) => b.code)).toEqual(['z']);
    expect(codeBlocks('{{ "}}" ~ a.__class__ }}')[0]!.code).toBe('"}}" ~ a.__class__');
  });

  it('a huge hostile template is analysed in linear time', () => {
    const big = `{{ ${Array.from({ length: 200_000 }, (_, i) => (i % 2 ? "'x'" : 'dict(a=1)')).join(' ~ ')} }}`;
    const t0 = performance.now();
    const issues = analyzeTemplate(big);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(issues.length).toBeGreaterThanOrEqual(0);
  });

  it('an oversized template is a high finding and only its start is analysed', async () => {
    const ctx = await runAnalyzer(ggufAnalyzer, benignModel(BENIGN_TEMPLATES.chatml + ' '.repeat(300 * 1024) + '{{ x.__class__ }}'));
    expect(ctx.findings.map((f) => [f.ruleId, f.details?.kind])).toEqual([['RMP-JINJA-002', 'oversized']]);
  });
});
