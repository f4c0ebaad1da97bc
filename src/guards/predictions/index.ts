// The `predictions` guard: publishes what a KServe v2 classifier answered as `model.prediction`
// events (predicted class and its confidence), which the monitor's output-drift detector compares
// with a reference window (docs/monitoring.md). It never blocks or rewrites: it is a tap on the
// response phase, so drift is watched on real traffic without changing the model server. Put it
// before `output-hardening` in the guard list, so it sees the full scores rather than rounded ones.
import { z } from 'zod';
import { flatNumbers, predictedClasses, tensors } from '../extraction/kserve.js';
import type { Guard, GuardContext, GuardEnv, GuardFactory, GuardVerdict, ResponseInput } from '../types.js';

export const predictionsOptionsSchema = z
  .object({
    /** Integer label tensor (default: the first integer tensor of shape [N] or [N, 1]). */
    labelOutput: z.string().min(1).optional(),
    /** Score tensor giving the confidence (default: the first floating-point [N, C] tensor). */
    scoresOutput: z.string().min(1).optional(),
    /** Class names by index, so events (and alerts) name classes; the index is used otherwise. */
    classNames: z.array(z.string().min(1)).optional(),
    /** Most rows of one batched request published (the first ones); bounds the event volume. */
    maxRowsPerRequest: z.number().int().positive().max(10_000).default(64),
  })
  .strict();
export type PredictionsOptions = z.infer<typeof predictionsOptionsSchema>;

const ALLOW: GuardVerdict = { action: 'allow', reasons: [] };

class PredictionsGuard implements Guard {
  readonly kind = 'predictions';

  constructor(
    readonly name: string,
    private readonly o: PredictionsOptions,
    private readonly env: GuardEnv,
  ) {}

  supports(route: string, protocol: GuardContext['protocol']): boolean {
    return protocol === 'kserve' && route === 'kserve.infer';
  }

  checkResponse(input: ResponseInput): GuardVerdict {
    const outs = tensors(input.body, 'outputs');
    if (!outs) return ALLOW;
    const scores = outs.find((t) => (this.o.scoresOutput ? t.name === this.o.scoresOutput : /^(FP|BF)\d+$/.test(t.datatype) && t.shape.length === 2 && t.shape[1]! >= 2));
    const label = this.o.labelOutput ? outs.find((t) => t.name === this.o.labelOutput) : undefined;
    const rows = (scores ?? label ?? outs[0])?.shape[0];
    if (rows === undefined || rows < 1) return ALLOW;
    const classes = predictedClasses(input.body, rows, this.o.labelOutput);
    if (!classes) return ALLOW;
    let conf: number[] | null = null;
    if (scores && scores.shape.length === 2 && scores.shape[0] === rows) conf = flatNumbers(scores.data, rows * scores.shape[1]!);
    const c = scores?.shape[1] ?? 0;
    const n = Math.min(rows, this.o.maxRowsPerRequest);
    for (let r = 0; r < n; r++) {
      const k = classes[r]!;
      const data: Record<string, unknown> = { class: this.o.classNames?.[k] ?? String(k), requestId: input.requestId };
      if (conf && k >= 0 && k < c) {
        const p = conf[r * c + k]!;
        if (p >= 0 && p <= 1) data.confidence = p;
      }
      this.env.emit({ type: 'model.prediction', source: 'gateway', time: input.now, principal: input.principal.id, model: input.model.name, data });
    }
    return ALLOW;
  }
}

export const predictionsGuardFactory: GuardFactory<PredictionsOptions> = {
  kind: 'predictions',
  description: 'Publishes each KServe v2 classifier prediction (class, confidence) as a model.prediction event for output-drift monitoring; never blocks',
  options: predictionsOptionsSchema,
  create: (name, options, env) => new PredictionsGuard(name, options, env),
};
