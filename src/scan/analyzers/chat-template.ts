// Chat templates outside GGUF: Hugging Face `tokenizer_config.json` (`chat_template`, a string or
// a list of {name, template}), `chat_template.json` ({"chat_template": ...}) and standalone
// `chat_template.jinja` files. Transformers renders them in Jinja's sandbox, but other servers and
// converters (GGUF converters copy the template into the model) may not, so they get the same
// template-injection checks as GGUF templates (jinja-template.ts).
import type { Analyzer, AnalyzeContext } from '../types.js';
import { reportTemplate } from './jinja-template.js';
import { decodeUtf8, isPlainObject, readRange } from './model-io.js';

const MAX_BYTES = 64 * 1024 * 1024;
const TOKENIZER_KEYS = ['"chat_template"', '"tokenizer_class"', '"added_tokens_decoder"', '"model_max_length"', '"bos_token"', '"eos_token"'];

/** Whether the bytes open a JSON object (not a Jinja tag). */
function startsWithBrace(head: Uint8Array): boolean {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  const ws = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  while (i < head.length && ws(head[i])) i++;
  if (head[i] !== 0x7b) return false;
  // A JSON object opens with a key or closes at once; `{{` and `{%` are Jinja.
  i++;
  while (i < head.length && ws(head[i])) i++;
  return i >= head.length || head[i] === 0x22 || head[i] === 0x7d;
}

function looksLikeJinja(text: string): boolean {
  return /\{%-?\s*(for|if|set|macro)\b/.test(text) || /\{\{-?[^}]*\b(message|messages|bos_token|eos_token)\b/.test(text);
}

export const chatTemplateAnalyzer: Analyzer = {
  id: 'chat-template',
  format: 'chat template',
  detect(head, source, name) {
    if (source.size > MAX_BYTES) return false;
    const text = new TextDecoder().decode(head);
    if (startsWithBrace(head)) return TOKENIZER_KEYS.filter((k) => text.includes(k)).length >= 2 || text.includes('"chat_template"');
    // A standalone template: a Jinja file by name whose content is a chat template.
    return /\.(jinja2?|j2)$/i.test(name) && looksLikeJinja(text);
  },
  async analyze(source, ctx: AnalyzeContext) {
    const bytes = await readRange(source, 0, Math.min(source.size, MAX_BYTES));
    const text = decodeUtf8(bytes);
    if (text === undefined) return;
    if (!startsWithBrace(bytes)) {
      reportTemplate(ctx, 'template', text);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch {
      return; // not JSON after all: other analyzers (or none) handle it
    }
    if (!isPlainObject(parsed)) return;
    const t = parsed.chat_template;
    if (typeof t === 'string') reportTemplate(ctx, 'chat_template', t);
    else if (Array.isArray(t)) {
      t.forEach((entry, i) => {
        if (isPlainObject(entry) && typeof entry.template === 'string') {
          const name = typeof entry.name === 'string' ? entry.name : String(i);
          reportTemplate(ctx, `chat_template.${name}`, entry.template);
        }
      });
    }
  },
};
