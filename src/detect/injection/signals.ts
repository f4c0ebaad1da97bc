// Structural signals of prompt injection: phrase rules (instruction overrides in several languages,
// system-prompt extraction, role-play jailbreaks, chat-template tokens, fake delimiters, text that
// addresses an AI reader, hidden HTML, markdown-image exfiltration, tool-call hijacking) and
// character-level evidence (invisible characters, bidi controls, tag-character payloads, homoglyphs,
// encoded payloads, leetspeak/ROT13). Each signal is one dense feature of the classifier, so the
// trained model decides how much each is worth next to the words around it: "ignore previous
// instructions" in a question about phishing is not the same as in a tool result.
//
// Every pattern is bounded (no nested unbounded quantifiers) so matching stays linear in the input.
import { decodeSegments, type DecodedSegment } from './decode.js';
import { deleet, normalize, rot13, type Normalized } from './normalize.js';

/** Reason codes (docs/guards.md) of the signals, in dense-feature order after the phrase rules. */
export const SIGNALS = [
  'instruction-override',
  'system-prompt-extraction',
  'role-play',
  'jailbreak-persona',
  'chat-template',
  'fake-delimiter',
  'indirect-address',
  'hidden-html',
  'exfiltration',
  'tool-hijack',
  'secrecy',
  'invisible-unicode',
  'bidi-control',
  'tag-payload',
  'homoglyph',
  'encoded-payload',
  'obfuscation',
] as const;
export type Signal = (typeof SIGNALS)[number];

interface Rule {
  signal: Signal;
  re: RegExp;
}

// Written over lower-cased NFKC text with look-alikes folded.
const W = '[^.\\n]'; // within one sentence
const RULES: Rule[] = [
  {
    signal: 'instruction-override',
    re: new RegExp(
      `\\b(?:ignore|disregard|forget|skip|override|bypass|abandon|discard|neglect|set aside|throw out|pay no attention to|do not follow|don't follow|stop following|no longer follow)\\b${W}{0,40}?\\b(?:previous|prior|above|earlier|preceding|foregoing|initial|original|all|any|your|system|developer|old|existing|every)\\b${W}{0,30}?\\b(?:instructions?|directives?|rules|guidelines|prompts?|commands?|constraints|guardrails|restrictions|programming|orders|policies|safeguards|guidance)\\b`,
    ),
  },
  { signal: 'instruction-override', re: /\b(?:new|updated|revised|real|true|actual) (?:instructions|directive|task|objective|orders|system prompt)\s*(?::|are|is)|\bfrom now on,? (?:you|your|ignore|respond|answer|only)|\byour (?:new|real|true) (?:task|goal|purpose|role|instructions|objective) (?:is|are)\b/ },
  // Other languages: French, Spanish, German, Italian, Portuguese, Dutch, Polish, Russian, Chinese, Japanese, Korean.
  { signal: 'instruction-override', re: /\b(?:ignore[rz]?|oublie[rz]?|ne tiens pas compte|ne tenez pas compte)\b[^.\n]{0,30}(?:instructions|consignes|règles|directives)/ },
  { signal: 'instruction-override', re: /\b(?:ignora|ignore|ignoren|olvida|olvide|olvidad|omite|descarta)\b[^.\n]{0,30}(?:instrucciones|reglas|indicaciones|directrices)/ },
  { signal: 'instruction-override', re: /\b(?:ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte)\b[^.\n]{0,40}(?:anweisungen|instruktionen|regeln|vorgaben|befehle)/ },
  { signal: 'instruction-override', re: /\b(?:ignora|ignorate|dimentica|dimenticate)\b[^.\n]{0,30}(?:istruzioni|regole|indicazioni)/ },
  { signal: 'instruction-override', re: /\b(?:ignore|ignora|esqueça|esqueca|desconsidere)\b[^.\n]{0,30}(?:instruções|instrucoes|regras|orientações)/ },
  { signal: 'instruction-override', re: /\b(?:negeer|vergeet)\b[^.\n]{0,30}(?:instructies|regels|aanwijzingen|opdrachten)/ },
  { signal: 'instruction-override', re: /\b(?:zignoruj|ignoruj|zapomnij)\b[^.\n]{0,30}(?:instrukcje|polecenia|zasady|wytyczne)/ },
  { signal: 'instruction-override', re: /(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на)[^.\n]{0,30}(?:инструкци|указани|правил|команд)/ },
  { signal: 'instruction-override', re: /(?:忽略|无视|忘记|忽视|不要理会|無視)[^。\n]{0,12}(?:指令|指示|说明|規則|规则|提示|命令)|(?:指示|命令|ルール|指令)[^。\n]{0,12}(?:無視|忘れ)|(?:지시|명령|규칙)[^.\n]{0,12}(?:무시|잊어)/ },
  {
    signal: 'system-prompt-extraction',
    re: /\b(?:reveal|print|show|display|output|repeat|tell me|give me|share|leak|dump|write out|recite|spell out|copy|paste|what (?:is|are|was|were))\b[^.\n]{0,30}?\b(?:system prompt|system message|initial prompt|hidden prompt|pre-?prompt|developer (?:message|prompt)|(?:initial|hidden|secret|original|confidential) instructions|instructions (?:above|you were given|given to you)|(?:text|words|everything) above|prompt above|your (?:instructions|guidelines|rules|configuration))\b/,
  },
  { signal: 'system-prompt-extraction', re: /\b(?:repeat|print|output)\b[^.\n]{0,30}\b(?:verbatim|word for word|starting with|beginning with)\b|(?:系统提示|システムプロンプト|prompt (?:système|del sistema|do sistema)|systemprompt|системн\S* (?:промпт|подсказк))/ },
  {
    signal: 'role-play',
    re: /\b(?:pretend (?:to be|you are|you're|that you)|imagine you are|act as (?:an?|my)|you are now (?:an?|my|in)|from now on you are|roleplay as|role-play as|play the role of|simulate (?:an?|being)|stay in character|break character|respond as (?:an?|my))\b/,
  },
  {
    signal: 'jailbreak-persona',
    re: /\b(?:do anything now|developer mode|dev mode|god mode|jailbreak(?:ed|ing)?|jailbroken|unfiltered|uncensored|unrestricted|no (?:restrictions|limits|filters|rules|guidelines|ethical guidelines|moral)|without (?:any )?(?:restrictions|limits|filters|rules|ethics|morals|censorship)|evil (?:ai|assistant|twin|confidant|bot)|opposite mode|anti-?dan|betterdan|dan mode|(?:as|you are|called|named) dan\b|not bound by|free from (?:all )?(?:rules|restrictions|policies)|ignore (?:all )?(?:ethics|safety|content polic))/,
  },
  {
    signal: 'chat-template',
    re: /<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id|begin_of_text|end|im_sep)\|>|\[\/?inst\]|<<\/?sys>>|<\/?s>|<(?:start|end)_of_turn>|^[ \t]*#{2,4}[ \t]*(?:system|instruction|instructions|new instructions|assistant|response)[ \t]*:?[ \t]*$|^[ \t]*(?:system|assistant)[ \t]*:[ \t]|\[(?:system|assistant)\]|<(?:system|assistant)>/m,
  },
  {
    signal: 'fake-delimiter',
    re: /\b(?:end of (?:the )?(?:user |tool |search )?(?:input|document|context|conversation|prompt|message|data|result|email|page))\b|\bbegin(?:ning)?(?: of)? (?:new |the )?(?:system|admin|administrator|developer|root) (?:prompt|instructions|message|mode|override)|<\/(?:user|context|document|data|input|tool_result|search_results?)>|\[(?:system|admin|developer) (?:message|note|override|instruction)s?\]|(?:={3,}|-{3,}|\*{3,})[ \t]*(?:system|admin|new instructions|important instructions|override)/,
  },
  {
    signal: 'indirect-address',
    re: /\b(?:ai|llm|llms|language model|assistants?|chatbots?|gpt|copilot|agents?|bots?)\b[^.\n]{0,20}\b(?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|that reads?|who reads?|browsing|viewing|ingesting|crawling)\b|\bif you are an? (?:ai|llm|language model|assistant|bot|automated|large language)|\b(?:note|message|instructions?|attention|important|notice) (?:to|for) (?:the |any |all )?(?:ai|llm|assistant|model|agent|chatbot|bot)s?\b|\bdear (?:ai|assistant|llm|chatbot|model)\b/,
  },
  { signal: 'hidden-html', re: /\b(?:display\s*:\s*none|font-size\s*:\s*0|visibility\s*:\s*hidden|color\s*:\s*(?:#fff\b|#ffffff|white)|opacity\s*:\s*0)/ },
  {
    signal: 'exfiltration',
    re: /!\[[^\]\n[]{0,100}\]\(\s*https?:\/\/[^)\s]{1,200}[?&][^)\s=]{1,40}=[^)\s]{0,300}(?:\{|%7b|\[|<|\$)|\b(?:append|add|include|attach|encode|put)\b[^.\n]{0,40}\b(?:conversation|chat|history|secrets?|passwords?|api keys?|previous messages|user'?s? (?:data|messages|email|details)|system prompt|credentials|tokens?)\b[^.\n]{0,40}\b(?:url|link|image|query|parameter)|\b(?:render|display|output|show)\b[^.\n]{0,20}\b(?:this|the following) (?:markdown|image)\b/,
  },
  {
    signal: 'tool-hijack',
    re: /\b(?:call|invoke|execute|trigger|use|run)\b[^.\n]{0,30}\b(?:tool|function|plugin|action)\b[^.\n]{0,40}\b(?:with|to send|to forward|to delete|to transfer|passing|arguments?)\b|\b(?:send|forward|email|upload|transfer|post|exfiltrate)\b[^.\n]{0,40}\b(?:to|at)\b[^.\n]{0,12}\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}|"(?:name|function|tool)"\s*:\s*"[a-z_.]+"\s*,\s*"(?:arguments|parameters|args|input)"/,
  },
  {
    signal: 'secrecy',
    re: /\b(?:do not|don't|never) (?:tell|inform|mention|reveal (?:this )?to|alert|notify) (?:the )?(?:user|human|customer|operator)\b|\bwithout (?:telling|informing|alerting|notifying) (?:the )?(?:user|human|customer)\b|\b(?:secretly|silently|covertly|quietly)\b[^.\n]{0,20}\b(?:send|forward|include|add|call|execute|transfer|delete)\b/,
  },
];

/** Dense features: one per signal, plus a few magnitudes. */
export const DENSE_NAMES: string[] = [...SIGNALS, 'len-log', 'invisible-log', 'rule-count', 'decoded-any'];
export const N_DENSE = DENSE_NAMES.length;
const IDX = new Map(DENSE_NAMES.map((n, i) => [n, i]));
export const denseIndex = (name: string): number => IDX.get(name) as number;

export interface SignalResult {
  norm: Normalized;
  dense: Float64Array;
  /** Signals that fired, in SIGNALS order. */
  fired: Signal[];
  decoded: DecodedSegment[];
}

// HTML comments, matched one after the other (a global regex consumes each), then their bodies
// tested for words aimed at a model: linear even on "<!--<!--<!--…".
const COMMENT = /<!--([^>]{0,400})/g;
const COMMENT_WORDS = /\b(?:ignore|instructions?|assistant|ai|llm|system|must|reveal|send|do not tell|model|agent)\b/;

/** Which phrase-rule signals fire on a text (already normalised). */
export function phraseSignals(text: string): Set<Signal> {
  const hit = new Set<Signal>();
  for (const r of RULES) if (!hit.has(r.signal) && r.re.test(text)) hit.add(r.signal);
  if (!hit.has('hidden-html') && text.includes('<!--')) {
    for (const m of text.matchAll(COMMENT)) {
      if (COMMENT_WORDS.test(m[1] as string)) {
        hit.add('hidden-html');
        break;
      }
    }
  }
  return hit;
}

// Words of the strong rules; the leetspeak and ROT13 variants are rule-checked only when one of them shows up.
const ROT13_GATE = /\b(?:ignore|disregard|forget|instructions|system prompt|reveal|developer mode|jailbreak|restrictions|password)\b/;

/** Rule signals that carry an attack on their own (used on decoded/hidden text). */
const STRONG: ReadonlySet<Signal> = new Set<Signal>(['instruction-override', 'system-prompt-extraction', 'jailbreak-persona', 'exfiltration', 'tool-hijack', 'chat-template']);

/** Computes every signal of one text. `depth` > 0 skips decoding (decoded text is not decoded again). */
export function computeSignals(input: string, depth = 0): SignalResult {
  const norm = normalize(input);
  const dense = new Float64Array(N_DENSE);
  const hits = phraseSignals(norm.text);
  // Obfuscated variants: leetspeak and ROT13 hits that the plain text does not have.
  const variants: string[] = [];
  const dl = deleet(norm.text);
  if (dl !== norm.text && ROT13_GATE.test(dl)) variants.push(dl);
  const r13 = rot13(norm.text);
  if (ROT13_GATE.test(r13)) variants.push(r13);
  for (const v of variants) {
    for (const s of phraseSignals(v)) {
      if (!hits.has(s) && STRONG.has(s)) {
        hits.add(s);
        hits.add('obfuscation');
      }
    }
  }
  if (norm.invisible > 0) hits.add('invisible-unicode');
  if (norm.bidi > 0) hits.add('bidi-control');
  if (norm.confusables > 0) hits.add('homoglyph');
  if (norm.tags.length > 0) hits.add('tag-payload');
  const decoded = depth === 0 ? decodeSegments(input) : [];
  const hidden = norm.tags.length >= 8 ? [norm.tags] : [];
  for (const d of decoded) hidden.push(d.text);
  for (const h of hidden) {
    const inner = phraseSignals(normalize(h).text);
    for (const s of inner) {
      if (STRONG.has(s)) {
        hits.add('encoded-payload');
        hits.add(s);
      }
    }
  }
  let rules = 0;
  for (const s of hits) {
    dense[denseIndex(s)] = 1;
    rules++;
  }
  dense[denseIndex('len-log')] = Math.log1p(norm.text.length) / 10;
  dense[denseIndex('invisible-log')] = Math.log1p(norm.invisible) / 3;
  dense[denseIndex('rule-count')] = Math.min(rules, 6) / 3;
  dense[denseIndex('decoded-any')] = decoded.length > 0 ? 1 : 0;
  const fired = SIGNALS.filter((s) => hits.has(s));
  return { norm, dense, fired, decoded };
}
