// Good/bad fixtures for chat templates in tokenizer configs and .jinja files.
import { describe, expect, it } from 'vitest';
import { chatTemplateAnalyzer } from './chat-template.js';
import { runAnalyzer } from './testing/model-context.js';
import { BENIGN_TEMPLATES, MALICIOUS_TEMPLATES } from './testing/gguf-fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);

function tokenizerConfig(chatTemplate: unknown): Uint8Array {
  return enc(
    JSON.stringify(
      {
        add_bos_token: true,
        added_tokens_decoder: { '0': { content: '<unk>', special: true }, '1': { content: '<s>', special: true } },
        bos_token: '<s>',
        eos_token: '</s>',
        model_max_length: 8192,
        tokenizer_class: 'LlamaTokenizer',
        chat_template: chatTemplate,
      },
      null,
      2,
    ),
  );
}

describe('chat template analyzer', () => {
  it.each(Object.entries(BENIGN_TEMPLATES))('benign tokenizer_config.json with %s is clean', async (_n, template) => {
    const ctx = await runAnalyzer(chatTemplateAnalyzer, tokenizerConfig(template), 'tokenizer_config.json');
    expect(ctx.detected).toBe(true);
    expect(ctx.findings).toEqual([]);
  });

  it('a malicious template in tokenizer_config.json is critical', async () => {
    const ctx = await runAnalyzer(chatTemplateAnalyzer, tokenizerConfig(MALICIOUS_TEMPLATES.cyclerGlobals!.template));
    expect(ctx.findings[0]!.ruleId).toBe('RMP-JINJA-001');
    expect(ctx.findings[0]!.location?.record).toBe('chat_template');
  });

  it('named templates (list form) are each checked', async () => {
    const ctx = await runAnalyzer(
      chatTemplateAnalyzer,
      tokenizerConfig([
        { name: 'default', template: BENIGN_TEMPLATES.chatml },
        { name: 'tool_use', template: MALICIOUS_TEMPLATES.attrHexEscapes!.template },
      ]),
    );
    expect(new Set(ctx.findings.map((f) => f.location?.record))).toEqual(new Set(['chat_template.tool_use']));
  });

  it('a standalone .jinja template is checked; other text and JSON are not taken', async () => {
    const bad = await runAnalyzer(chatTemplateAnalyzer, enc(MALICIOUS_TEMPLATES.selfContext!.template + '{% for message in messages %}{% endfor %}'), 'chat_template.jinja');
    expect(bad.detected).toBe(true);
    expect(bad.findings[0]!.ruleId).toBe('RMP-JINJA-001');
    expect((await runAnalyzer(chatTemplateAnalyzer, enc('just text'), 'notes.jinja')).detected).toBe(false);
    expect((await runAnalyzer(chatTemplateAnalyzer, enc('{"a": 1}'), 'x.json')).detected).toBe(false);
  });
});
