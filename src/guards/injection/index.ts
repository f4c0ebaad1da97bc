// The `prompt-injection` guard: scores every text an LLM will read in a request (user and system
// messages, earlier assistant turns, tool results, tool definitions, tool-call arguments,
// completions prompts, Responses API items, documents sent to be embedded) with the built-in
// detector (src/detect/injection/), optionally refined by a local transformer (onnx.ts), and blocks
// or flags by per-source thresholds. Indirect sources (tool results, documents, tool definitions)
// get stricter thresholds by default: nobody types an instruction to the assistant into a weather
// API's answer. Reasons name the source, the JSON pointer and the kind of evidence, never the text.
import { z } from 'zod';
import { detectInjection, type InjectionFinding } from '../../detect/injection/detector.js';
import type { TextSource } from '../text.js';
import type { Guard, GuardAction, GuardFactory, GuardReason, GuardVerdict, RequestInput } from '../types.js';
import { loadOnnxStage, type OnnxStage } from './onnx.js';

const SOURCES = ['system', 'user', 'assistant', 'tool', 'tool-call', 'tool-definition', 'document'] as const satisfies readonly TextSource[];

const ROUTES = new Set(['openai.chat.completions', 'openai.completions', 'openai.responses', 'openai.embeddings']);

const score01 = z.number().min(0).max(1);
const thresholds = z.object({ block: score01.optional(), flag: score01.optional() }).strict();

const onnxOptions = z
  .object({
    /** Model directory (relative to the config file). */
    dir: z.string().min(1),
    /** `grey`: only texts the first stage scores between greyZone[0] and greyZone[1]; `always`: every text. */
    when: z.enum(['grey', 'always']).default('grey'),
    greyZone: z.tuple([score01, score01]).default([0.2, 0.9]),
    /** Final score = weight × transformer + (1 − weight) × first stage. */
    weight: score01.default(0.7),
    maxLength: z.number().int().min(8).max(8192).default(512),
    maxWindows: z.number().int().min(1).max(64).default(4),
    output: z.enum(['logits', 'probabilities']).default('logits'),
    positiveLabels: z.array(z.string().min(1)).min(1).default(['INJECTION', 'JAILBREAK', 'UNSAFE', 'MALICIOUS', 'LABEL_1']),
    positiveIndex: z.number().int().min(0).default(1),
    threads: z.number().int().min(1).max(16).default(1),
  })
  .strict();

export const promptInjectionOptions = z
  .object({
    /** Score at or above which a text is refused / flagged (defaults for every source). */
    block: score01.default(0.85),
    flag: score01.default(0.5),
    /** Per-source overrides; tool results, documents and tool definitions default to block 0.7, flag 0.4. */
    sources: z.object(Object.fromEntries(SOURCES.map((s) => [s, thresholds.optional()])) as Record<(typeof SOURCES)[number], z.ZodOptional<typeof thresholds>>).strict().default({}),
    /** Sources not scanned at all (for example `assistant` when clients replay model output verbatim). */
    skip: z.array(z.enum(SOURCES)).default([]),
    /**
     * Characters scanned per request in all (about 0.5 ms of CPU per KB): the rest of a longer
     * request is not scanned and the verdict is at least `flag`. The default keeps a full scan well
     * inside the pipeline's default 500 ms guard timeout.
     */
    maxChars: z.number().int().min(1024).default(262_144),
    onnx: onnxOptions.optional(),
  })
  .strict();

export type PromptInjectionOptions = z.infer<typeof promptInjectionOptions>;

const INDIRECT_DEFAULT = { block: 0.7, flag: 0.4 };
const INDIRECT: ReadonlySet<TextSource> = new Set<TextSource>(['tool', 'document', 'tool-definition']);

const SOURCE_NAME: Record<TextSource, string> = {
  system: 'system prompt',
  user: 'user message',
  assistant: 'assistant turn',
  tool: 'tool result',
  'tool-call': 'tool-call arguments',
  'tool-definition': 'tool definition',
  document: 'document',
};

const FINDING_TEXT: Record<InjectionFinding['code'], string> = {
  'instruction-override': 'instruction override',
  'system-prompt-extraction': 'system-prompt extraction',
  'role-play': 'role-play framing',
  'jailbreak-persona': 'jailbreak persona or mode',
  'chat-template': 'chat-template tokens',
  'fake-delimiter': 'fake delimiter',
  'indirect-address': 'text addressed to an AI reader',
  'hidden-html': 'hidden HTML',
  exfiltration: 'data exfiltration (markdown image or URL)',
  'tool-hijack': 'tool-call hijacking',
  secrecy: 'asks to hide actions from the user',
  'invisible-unicode': 'invisible characters',
  'bidi-control': 'bidirectional control characters',
  'tag-payload': 'text hidden in Unicode tag characters',
  homoglyph: 'look-alike letters',
  'encoded-payload': 'encoded payload',
  obfuscation: 'leetspeak or ROT13 obfuscation',
  classifier: 'classifier',
};

const RANK: Record<GuardAction, number> = { allow: 0, flag: 1, redact: 2, block: 3 };
const MAX_REASONS = 10;

export const promptInjectionGuardFactory: GuardFactory<PromptInjectionOptions> = {
  kind: 'prompt-injection',
  description: 'Prompt injection and jailbreaks in every text an LLM reads (user, system, tool results, documents): built-in classifier + structural signals, optional local ONNX transformer',
  options: promptInjectionOptions,
  async create(name, options, env) {
    return createPromptInjectionGuard(name, options, options.onnx ? await loadOnnxStage(options.onnx, env.baseDir) : null);
  },
};

/** The guard, with an already loaded transformer stage (or none). Exported for tests and embedders. */
export function createPromptInjectionGuard(name: string, options: PromptInjectionOptions, onnx: OnnxStage | null): Guard {
  const limits = (source: TextSource): { block: number; flag: number } => {
    const base = INDIRECT.has(source) ? INDIRECT_DEFAULT : { block: options.block, flag: options.flag };
    const o = options.sources[source];
    return { block: o?.block ?? base.block, flag: o?.flag ?? base.flag };
  };
  const skip = new Set<TextSource>(options.skip);

  const scoreText = async (text: string): Promise<{ score: number; findings: InjectionFinding[]; onnx?: number }> => {
    const first = detectInjection(text);
    if (!onnx || !options.onnx) return first;
    const [lo, hi] = options.onnx.greyZone;
    if (options.onnx.when === 'grey' && (first.score < lo || first.score >= hi)) return first;
    const second = await onnx.score(text);
    const w = options.onnx.weight;
    return { score: w * second + (1 - w) * first.score, findings: first.findings, onnx: second };
  };

  return {
    name,
    kind: 'prompt-injection',
    supports: (route, protocol) => protocol === 'openai' && ROUTES.has(route),
    async checkRequest(input: RequestInput): Promise<GuardVerdict> {
      let action: GuardAction = 'allow';
      let top = 0;
      let budget = options.maxChars;
      const reasons: GuardReason[] = [];
      for (const part of input.texts()) {
        if (skip.has(part.source)) continue;
        if (input.signal.aborted) break;
        let text = part.text;
        if (text.length > budget) {
          reasons.push({ code: 'injection.not-scanned', message: `${SOURCE_NAME[part.source]} beyond the ${options.maxChars}-character scan limit was not scanned`, where: part.pointer });
          if (RANK[action] < RANK.flag) action = 'flag';
          text = text.slice(0, budget);
        }
        budget -= text.length;
        if (text.length === 0) break;
        const r = await scoreText(text);
        top = Math.max(top, r.score);
        const lim = limits(part.source);
        const act: GuardAction = r.score >= lim.block ? 'block' : r.score >= lim.flag ? 'flag' : 'allow';
        if (act === 'allow') continue;
        if (RANK[act] > RANK[action]) action = act;
        const evidence = r.findings.slice(0, 3).map((f) => FINDING_TEXT[f.code]);
        const head = (r.findings[0]?.code ?? 'classifier') as InjectionFinding['code'];
        const code = r.onnx !== undefined && r.onnx >= lim.flag && r.findings.length === 0 ? 'injection.onnx' : `injection.${head}`;
        if (reasons.length < MAX_REASONS) {
          reasons.push({
            code,
            message: `${SOURCE_NAME[part.source]} scored ${r.score.toFixed(2)} (${act} at ${(act === 'block' ? lim.block : lim.flag).toFixed(2)})${evidence.length ? `: ${evidence.join(', ')}` : ''}${r.onnx !== undefined ? `; transformer ${r.onnx.toFixed(2)}` : ''}`,
            where: part.pointer,
          });
        }
      }
      return { action, score: Math.round(top * 1000) / 1000, reasons };
    },
    async close() {
      await onnx?.close();
    },
  };
}
