// Jacobian-based synthetic data augmentation (JbDA), the model-extraction attack of Papernot,
// McDaniel, Goodfellow, Jha, Celik, Swami (2017) "Practical Black-Box Attacks against Machine
// Learning", ASIACCS, Algorithm 1. Used by the evaluation (bench/extraction-eval.mjs) and the
// tests to produce realistic attack traffic against a classifier behind the gateway; the model
// and the surrogate trainer are passed in, so this file does no I/O of its own.
//
// Round ρ: ask the oracle for the labels of the new points of S_ρ, train a surrogate F on all of
// S_ρ, then S_{ρ+1} = S_ρ ∪ { clip(x + λ_ρ · sign(∂F_{O(x)}/∂x)) : x ∈ S_ρ }, with λ_ρ flipping sign
// every `tau` rounds (the paper's periodic step size). The set doubles every round.

export interface JbdaModel {
  /** Gradient of the surrogate's loss for `label` at `x` (−∂ log F_label / ∂x). */
  lossGradient(x: Float64Array, label: number): Float64Array;
}

export interface JbdaOptions<M extends JbdaModel> {
  /** Seed inputs (a few real samples), each `dims` long. */
  seeds: Float64Array[];
  rounds: number;
  /** Step size λ in input units. */
  lambda: number;
  /** λ flips sign every `tau` rounds. */
  tau: number;
  clipMin: number;
  clipMax: number;
  /** Labels of a batch from the victim; `null` when the victim stopped answering (throttled, blocked). */
  oracle(batch: Float64Array[]): Promise<number[] | null>;
  /** Trains a surrogate on the labelled set gathered so far. */
  train(x: Float64Array[], y: number[]): M;
  /** Called after every round with the surrogate and the number of queries so far. */
  onRound?(round: number, surrogate: M, queries: number): void | Promise<void>;
}

export interface JbdaResult<M> {
  surrogate: M | null;
  /** Queries the victim answered. */
  queries: number;
  /** True when the oracle stopped answering before the last round. */
  stopped: boolean;
  x: Float64Array[];
  y: number[];
}

/** Runs the attack; stops early when the oracle returns null. */
export async function runJbda<M extends JbdaModel>(opts: JbdaOptions<M>): Promise<JbdaResult<M>> {
  const x: Float64Array[] = [];
  const y: number[] = [];
  let pending: Float64Array[] = opts.seeds.map((s) => Float64Array.from(s));
  let surrogate: M | null = null;
  for (let round = 0; round <= opts.rounds; round++) {
    const labels = await opts.oracle(pending);
    if (!labels) return { surrogate, queries: y.length, stopped: true, x, y };
    x.push(...pending);
    y.push(...labels);
    surrogate = opts.train(x, y);
    await opts.onRound?.(round, surrogate, y.length);
    if (round === opts.rounds) break;
    const lambda = opts.lambda * (Math.floor(round / opts.tau) % 2 === 0 ? 1 : -1);
    const next: Float64Array[] = [];
    for (let i = 0; i < x.length; i++) {
      const g = surrogate.lossGradient(x[i]!, y[i]!);
      const out = new Float64Array(g.length);
      // Up the surrogate's output for the oracle's label: against the loss gradient.
      for (let k = 0; k < g.length; k++) out[k] = Math.min(opts.clipMax, Math.max(opts.clipMin, x[i]![k]! - lambda * Math.sign(g[k]!)));
      next.push(out);
    }
    pending = next;
  }
  return { surrogate, queries: y.length, stopped: false, x, y };
}
