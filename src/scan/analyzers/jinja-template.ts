// Static checks of Jinja chat templates (GGUF `tokenizer.chat_template*`, Hugging Face
// `tokenizer_config.json`). A chat template is a program: loaders such as llama-cpp-python before
// 0.2.72 rendered it with a non-sandboxed jinja2 Environment (CVE-2024-34359), so a template can
// walk from any object to Python internals (`().__class__.__base__.__subclasses__()`,
// `cycler.__init__.__globals__.os.popen(...)`) and run commands. Real chat templates only loop
// over messages, compare roles, concatenate strings and call a few helpers (namespace,
// raise_exception, tojson, strftime_now), so we look at the code inside `{{ }}` and `{% %}` tags:
// - critical: dunder names or strings (after decoding escapes and folding literal concatenation),
//   Python internals (`_TemplateReference__context`, `mro`, `f_globals`, `popen`, `__import__`...);
// - high: obfuscation (escapes that produce underscores, underscore fragments joined at run time,
//   `%c` formatting, `dict(...)|join`, the `attr` filter) and template loading tags
//   (`import`, `include`, `extends`, `from`);
// - medium: objects that only serve as gadgets in templates (`cycler`, `joiner`, `lipsum`,
//   `self`, `request`, `config`, `url_for`, ...) and resource exhaustion (huge ranges/repeats).
import type { Severity } from '../../core/types.js';
import { defineRules } from '../rules.js';
import type { AnalyzeContext } from '../types.js';

const DOCS = 'docs/rules.md#jinja';
const CVE = 'https://nvd.nist.gov/vuln/detail/CVE-2024-34359';

export const JINJA_RULES = defineRules([
  {
    id: 'RMP-JINJA-001',
    severity: 'critical',
    title: 'Chat template reaches Python internals (template injection)',
    description:
      'The Jinja chat template accesses dunder attributes or Python internals (`__class__`, `__globals__`, `__subclasses__`, `__builtins__`, `popen`, `_TemplateReference__context`, ...). Rendered by a non-sandboxed Jinja environment (llama-cpp-python before 0.2.72, CVE-2024-34359) this runs arbitrary code when the model is loaded and chatted with.',
    remediation: 'Do not use the model with this template; replace the template with a known-good one and render templates only in a sandboxed environment.',
    links: [DOCS, CVE],
  },
  {
    id: 'RMP-JINJA-002',
    severity: 'high',
    title: 'Chat template hides names or loads other templates',
    description:
      'The template builds names at run time (escape sequences spelling underscores, joined underscore fragments, `%c` formatting, `dict(...)|join`, the `attr` filter with a computed or private name), reads private attributes, or loads other templates (`import`, `include`, `extends`). Real chat templates never need this; it is how filters on injection payloads are evaded.',
    remediation: 'Review the template by hand; replace it with a known-good template.',
    links: [DOCS, CVE],
  },
  {
    id: 'RMP-JINJA-003',
    severity: 'medium',
    title: 'Chat template uses gadget objects or exhausts resources',
    description:
      'The template references objects that only serve as stepping stones to Python internals (`cycler`, `joiner`, `lipsum`, `self`, `request`, `config`, ...), uses the attr filter, or loops/repeats over millions of items.',
    remediation: 'Review the template; real chat templates only iterate over messages and tools.',
    links: [DOCS],
  },
] as const);


export interface TemplateIssue {
  severity: Extract<Severity, 'critical' | 'high' | 'medium'>;
  /** Short machine-readable kind, e.g. `dunder`, `escape-obfuscation`. */
  kind: string;
  message: string;
  /** Character index in the template where the offending tag starts. */
  index: number;
  /** The offending code, clipped. */
  excerpt: string;
}

interface CodeBlock {
  code: string;
  index: number;
  kind: 'expr' | 'stmt';
}

/** Splits a template into its code blocks, skipping text, comments and raw blocks. */
export function codeBlocks(src: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  let i = 0;
  let raw = false;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0 || open + 1 >= src.length) break;
    const next = src[open + 1];
    if (next === '#') {
      const end = src.indexOf('#}', open + 2);
      i = end < 0 ? src.length : end + 2;
      continue;
    }
    if (next !== '{' && next !== '%') {
      i = open + 1;
      continue;
    }
    const close = next === '{' ? '}}' : '%}';
    // Scan to the closing delimiter, skipping string literals (which may contain it).
    let j = open + 2;
    let quote: string | null = null;
    while (j < src.length) {
      const c = src[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (src.startsWith(close, j)) break;
      j++;
    }
    let code = src.slice(open + 2, j).replace(/^[-+]/, '').replace(/[-+]$/, '');
    code = code.trim();
    i = j + 2;
    if (next === '%') {
      if (/^raw\b/.test(code)) {
        raw = true;
        continue;
      }
      if (/^endraw\b/.test(code)) {
        raw = false;
        continue;
      }
    }
    if (!raw) out.push({ code, index: open, kind: next === '{' ? 'expr' : 'stmt' });
  }
  return out;
}

type Tok =
  | { t: 'str'; v: string; escaped: boolean; rawText: string }
  | { t: 'id'; v: string }
  | { t: 'num'; v: number }
  | { t: 'op'; v: string };

/** Decodes a Python/Jinja string literal body; `escaped` says whether escapes were used. */
function decodeString(body: string): { v: string; escaped: boolean } {
  let escaped = false;
  const v = body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)/gs, (_m, e: string) => {
    escaped = true;
    const c = e[0];
    if (c === 'x' || c === 'u' || c === 'U') return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
    if (c === 'N') return e.slice(2, -1).toUpperCase() === 'LOW LINE' ? '_' : '?';
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    if (c === 'n') return '\n';
    if (c === 't') return '\t';
    if (c === 'r') return '\r';
    return e;
  });
  return { v, escaped };
}

export function tokenize(code: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === '\\' ? 2 : 1;
      const body = code.slice(i + 1, Math.min(j, code.length));
      const d = decodeString(body);
      toks.push({ t: 'str', v: d.v, escaped: d.escaped, rawText: body });
      i = j + 1;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(code.slice(i, i + 256));
    if (id) {
      toks.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const num = /^\d[\d_]*(\.\d+)?(e[+-]?\d+)?/i.exec(code.slice(i, i + 64));
    if (num) {
      toks.push({ t: 'num', v: Number(num[0].replace(/_/g, '')) });
      i += num[0].length;
      continue;
    }
    const op = /^(\*\*|\/\/|==|!=|<=|>=|[-+*/%~|.,:()[\]{}<>=!])/.exec(code.slice(i, i + 2));
    toks.push({ t: 'op', v: op ? op[0] : c });
    i += op ? op[0].length : 1;
  }
  return toks;
}

const DUNDER = /__[A-Za-z0-9_]*__|__[A-Za-z]{3,}/;
/** Names of Python internals: flagged as an attribute, or when followed by `.` or `(`. */
const INTERNAL_OBJECTS = new Set([
  '_TemplateReference__context',
  '_module',
  'mro',
  'func_globals',
  'f_globals',
  'f_locals',
  'f_back',
  'gi_frame',
  'gi_code',
  'cr_frame',
  'ag_frame',
  'tb_frame',
  'tb_next',
  'im_func',
  'func_code',
  'co_code',
  'subprocess',
  'builtins',
  'importlib',
]);
/** Functions that run code or commands: flagged as an attribute, or when called. */
const INTERNAL_CALLS = new Set([
  'popen',
  'system',
  'spawn',
  'execve',
  'exec',
  'eval',
  'compile',
  'getattr',
  'setattr',
  'delattr',
  'globals',
  'locals',
  'vars',
  'check_output',
  'import_module',
  'environ',
]);
/** Strings that name internals (used with attr or subscripts); ordinary words are left out. */
const INTERNAL_STRINGS = new Set([
  'popen',
  'subprocess',
  'builtins',
  'globals',
  'getattr',
  'f_globals',
  'func_globals',
  'mro',
  '_TemplateReference__context',
  '_module',
  'check_output',
  'import_module',
  'importlib',
]);
/** Jinja/Flask globals that serve only as gadgets in templates. */
const GADGETS = new Set(['cycler', 'joiner', 'lipsum', 'self', 'request', 'config', 'url_for', 'get_flashed_messages']);
const LOADING_TAGS = new Set(['import', 'include', 'extends', 'from']);

function clipCode(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= 160 ? one : `${one.slice(0, 159)}…`;
}

/** Folds runs of string literals joined by `~`, `+` or adjacency into single strings. */
function foldedStrings(toks: Tok[]): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  for (let k = 0; k < toks.length; k++) {
    const tk = toks[k]!;
    if (tk.t === 'str') {
      cur = (cur ?? '') + tk.v;
      continue;
    }
    if (cur !== null && tk.t === 'op' && (tk.v === '~' || tk.v === '+') && toks[k + 1]?.t === 'str') continue;
    if (cur !== null) out.push(cur);
    cur = null;
  }
  if (cur !== null) out.push(cur);
  return out;
}

/**
 * Returns the template-injection issues of a chat template, most severe first. An empty list
 * means nothing above info was seen.
 */
export function analyzeTemplate(template: string): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const seen = new Set<string>();
  const add = (severity: TemplateIssue['severity'], kind: string, message: string, b: CodeBlock): void => {
    const key = `${kind}:${b.index}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push({ severity, kind, message, index: b.index, excerpt: clipCode(b.code) });
  };
  for (const b of codeBlocks(template)) {
    const toks = tokenize(b.code);
    if (b.kind === 'stmt' && toks[0]?.t === 'id' && LOADING_TAGS.has(toks[0].v)) {
      add('high', 'template-loading', `Tag "${toks[0].v}" loads another template or file`, b);
    }
    // Per-block facts computed once, so a huge hostile block stays linear.
    const hasJoin = toks.some((x) => x.t === 'id' && x.v === 'join');
    const hasFormat = toks.some((x) => x.t === 'id' && x.v === 'format');
    for (let k = 0; k < toks.length; k++) {
      const tk = toks[k]!;
      const prev = toks[k - 1];
      const nextTok = toks[k + 1];
      if (tk.t === 'id') {
        const isAttr = prev?.t === 'op' && prev.v === '.';
        if (DUNDER.test(tk.v)) add('critical', 'dunder', `Accesses Python internals through "${tk.v}"`, b);
        else if (
          (INTERNAL_OBJECTS.has(tk.v) && (isAttr || (nextTok?.t === 'op' && (nextTok.v === '(' || nextTok.v === '.')))) ||
          (INTERNAL_CALLS.has(tk.v) && (isAttr || (nextTok?.t === 'op' && nextTok.v === '(')))
        ) {
          add('critical', 'python-internals', `Reaches Python internals or process functions through "${tk.v}"`, b);
        } else if (isAttr && tk.v.startsWith('_')) {
          add('high', 'private-attribute', `Reads private attribute "${tk.v}" (blocked by Jinja's sandbox for a reason)`, b);
        } else if (!isAttr && GADGETS.has(tk.v) && !(prev?.t === 'op' && prev.v === '|')) {
          // `namespace` is common in real templates and so is not listed; its dunders are caught above.
          add('medium', 'gadget-object', `Uses "${tk.v}", an object templates only need to reach Python internals`, b);
        }
        if (tk.v === 'attr' && ((prev?.t === 'op' && prev.v === '|') || nextTok?.v === '(')) {
          const arg = toks[k + 2];
          const plain = arg?.t === 'str' && /^[A-Za-z][A-Za-z0-9]*$/.test(arg.v) && toks[k + 3]?.v === ')';
          add(plain ? 'medium' : 'high', 'attr-filter', 'Uses the attr filter, which reads attributes by computed name', b);
        }
        if (tk.v === 'dict' && nextTok?.v === '(') {
          if (hasJoin) add('high', 'dict-join', 'Builds a name from dict keyword arguments joined at run time', b);
        }
        if ((tk.v === 'range' && nextTok?.v === '(') || tk.v === 'lipsum') {
          const n = toks.slice(k + 2, k + 6).find((x) => x.t === 'num');
          if (n && n.t === 'num' && n.v > 1_000_000) add('medium', 'resource-exhaustion', `Loops over ${n.v} items`, b);
        }
      } else if (tk.t === 'str') {
        if (DUNDER.test(tk.v)) add('critical', 'dunder', `String "${clipCode(tk.v)}" names Python internals`, b);
        else if (INTERNAL_STRINGS.has(tk.v)) add('high', 'internals-string', `String "${tk.v}" names a Python internal`, b);
        if (tk.escaped && /[_.]/.test(tk.v) && /\\(x5f|u005f|U0000005f|137|N\{)/i.test(tk.rawText)) {
          add('high', 'escape-obfuscation', 'Spells underscores with escape sequences to evade filters', b);
        }
        if (!/^_+$/.test(tk.v) && (tk.v.startsWith('__') || tk.v.endsWith('__')) && /[A-Za-z]/.test(tk.v)) {
          add('high', 'underscore-fragment', `String "${clipCode(tk.v)}" is a fragment of a dunder name`, b);
        }
        if (/^_+$/.test(tk.v)) {
          const around = [prev?.v, nextTok?.v];
          if (around.some((v) => v === '*' || v === '~' || v === '+') || hasJoin) {
            add('high', 'underscore-fragment', 'Assembles underscores at run time to build a hidden name', b);
          }
        }
        if (/%c/.test(tk.v) && hasFormat) {
          add('high', 'format-chars', 'Builds characters with "%c" formatting to hide a name', b);
        }
      } else if (tk.t === 'num' && tk.v > 10_000_000 && prev?.t === 'op' && (prev.v === '*' || prev.v === '**')) {
        add('medium', 'resource-exhaustion', `Repeats or raises to ${tk.v}`, b);
      }
    }
    // `(obj|string)[n]` and `obj|string|list` pull characters out of object representations
    // (e.g. underscores from "<built-in method ...>") to spell names without literals.
    for (let k = 0; k + 1 < toks.length; k++) {
      const a = toks[k]!;
      const f = toks[k + 1]!;
      if (a.t !== 'op' || a.v !== '|' || f.t !== 'id' || f.v !== 'string') continue;
      const after = toks.slice(k + 2, k + 6);
      const listed = after[0]?.v === '|' && after[1]?.v === 'list';
      const indexed = after[0]?.v === ')' && after[1]?.v === '[' && after[2]?.t === 'num';
      if (listed || indexed) add('high', 'char-extraction', 'Extracts characters from an object\'s string form to build a name', b);
    }
    for (const s of foldedStrings(toks)) {
      if (DUNDER.test(s)) add('critical', 'dunder', `Concatenated strings build "${clipCode(s)}"`, b);
    }
  }
  const rank = { critical: 3, high: 2, medium: 1 } as const;
  return issues.sort((a, b) => rank[b.severity] - rank[a.severity] || a.index - b.index);
}

const SEVERITY_RULE = { critical: 'RMP-JINJA-001', high: 'RMP-JINJA-002', medium: 'RMP-JINJA-003' } as const;

/**
 * Largest template analysed. Real chat templates are a few KiB (the largest tool-use templates
 * about 20 KiB); analysis is synchronous, so a bound keeps a hostile megabyte template from
 * blocking the scan. A larger template is itself a high finding and only its start is analysed.
 */
export const MAX_TEMPLATE_CHARS = 256 * 1024;

/** Checks one template and reports its issues (at most 20) under `record` at `offset`. */
export function reportTemplate(ctx: AnalyzeContext, record: string, template: string, offset?: number): void {
  const location = offset === undefined ? { record } : { offset, record };
  if (template.length > MAX_TEMPLATE_CHARS) {
    ctx.report({
      ruleId: 'RMP-JINJA-002',
      message: `${record}: template of ${template.length} characters (real chat templates are a few KiB); only the first ${MAX_TEMPLATE_CHARS} were analysed`,
      location,
      details: { kind: 'oversized', length: template.length },
    });
  }
  const issues = analyzeTemplate(template.length > MAX_TEMPLATE_CHARS ? template.slice(0, MAX_TEMPLATE_CHARS) : template);
  for (const issue of issues.slice(0, 20)) {
    ctx.report({
      ruleId: SEVERITY_RULE[issue.severity],
      message: `${record}: ${issue.message}: ${issue.excerpt}`,
      location,
      details: { kind: issue.kind, templateIndex: issue.index },
    });
  }
}
