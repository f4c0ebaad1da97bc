// The `output-hardening` guard: gives a KServe v2 classifier's clients less than the full
// probability vector, which is what extraction attacks learn fastest from (Tramèr et al. 2016,
// "Stealing Machine Learning Models via Prediction APIs", USENIX Security: equation solving needs
// the confidences; rounding and label-only answers are the countermeasures studied there).
// Modes (response phase): `round` rounds every score to `decimals`; `top-k` keeps the k highest
// scores of each row and sets the others to 0 (same shape, so clients keep working); `label-only`
// removes the score tensors and makes sure an integer label tensor is present. The rewrite is a
// `redact` verdict with `apply()` (never applied in shadow mode). For different settings per
// model, configure one instance per model (`models:` globs, distinct `name:`).
import { z } from 'zod';
import { flatNumbers, predictedClasses, tensors, type V2Tensor } from '../extraction/kserve.js';
import type { Guard, GuardContext, GuardFactory, GuardVerdict, ResponseInput } from '../types.js';

export const outputHardeningOptionsSchema = z
  .object({
    mode: z.enum(['round', 'top-k', 'label-only']).default('round'),
    /** Decimal places kept (mode round; also applied to the kept scores in top-k). */
    decimals: z.number().int().min(0).max(8).default(2),
    /** Scores kept per row (mode top-k). */
    k: z.number().int().min(1).max(1000).default(1),
    /** Score tensors to harden (default: every floating-point output of shape [N, C]). */
    outputs: z.array(z.string().min(1)).min(1).optional(),
    /** Label tensor name, read in every mode and added in label-only mode when missing. */
    labelOutput: z.string().min(1).default('label'),
  })
  .strict();

export type OutputHardeningOptions = z.infer<typeof outputHardeningOptionsSchema>;

const FLOAT = /^(FP|BF)\d+$/;

function roundTo(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/** Rewrites one [N, C] score tensor in place; returns false when its data cannot be read. */
export function hardenScores(t: V2Tensor, o: OutputHardeningOptions): boolean {
  const [n, c] = t.shape as [number, number];
  const v = flatNumbers(t.data, n * c);
  if (!v) return false;
  if (o.mode === 'top-k') {
    for (let r = 0; r < n; r++) {
      const row = v.slice(r * c, r * c + c);
      const keep = new Set(
        row
          .map((s, i) => [s, i] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, o.k)
          .map(([, i]) => i),
      );
      for (let i = 0; i < c; i++) v[r * c + i] = keep.has(i) ? roundTo(row[i]!, o.decimals) : 0;
    }
  } else {
    for (let i = 0; i < v.length; i++) v[i] = roundTo(v[i]!, o.decimals);
  }
  t.data = v;
  return true;
}

class OutputHardeningGuard implements Guard {
  readonly kind = 'output-hardening';

  constructor(
    readonly name: string,
    private readonly o: OutputHardeningOptions,
  ) {}

  supports(route: string, protocol: GuardContext['protocol']): boolean {
    return protocol === 'kserve' && route === 'kserve.infer';
  }

  checkResponse(input: ResponseInput): GuardVerdict {
    const outs = tensors(input.body, 'outputs');
    if (!outs) return { action: 'allow', reasons: [] };
    const wanted = this.o.outputs;
    const scores = outs.filter((t) => FLOAT.test(t.datatype) && t.shape.length === 2 && t.shape[1]! >= 2 && (!wanted || wanted.includes(t.name)));
    if (scores.length === 0) return { action: 'allow', reasons: [] };
    const body = input.body as { outputs: V2Tensor[] };
    const o = this.o;
    const labelName = o.labelOutput;
    const apply = (): void => {
      if (o.mode === 'label-only') {
        const rows = scores[0]!.shape[0]!;
        const hasLabel = body.outputs.some((t) => t.name === labelName);
        const labels = hasLabel ? null : predictedClasses({ outputs: [scores[0]] }, rows);
        body.outputs = body.outputs.filter((t) => !scores.includes(t));
        if (labels) body.outputs.push({ name: labelName, datatype: 'INT64', shape: [rows], data: labels });
        return;
      }
      for (const t of scores) {
        // Unreadable data (not numbers): the scores are dropped rather than passed through unhardened.
        if (!hardenScores(t, o)) body.outputs = body.outputs.filter((x) => x !== t);
      }
    };
    return {
      action: 'redact',
      // Hardening every answer is routine, not an incident.
      severity: 'info',
      reasons: [{ code: `output-hardening.${o.mode}`, message: `classifier scores ${o.mode === 'round' ? `rounded to ${o.decimals} decimals` : o.mode === 'top-k' ? `reduced to the top ${o.k}` : 'removed (label only)'}` }],
      apply,
    };
  }
}

export const outputHardeningGuardFactory: GuardFactory<OutputHardeningOptions> = {
  kind: 'output-hardening',
  description: 'Hardens KServe v2 classifier outputs against extraction: rounded scores, top-k only, or label only',
  options: outputHardeningOptionsSchema,
  create: (name, options) => new OutputHardeningGuard(name, options),
};
