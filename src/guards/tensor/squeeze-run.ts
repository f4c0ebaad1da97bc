// Runs feature squeezing against a model: builds the squeezed copies of some rows, sends the
// originals and the copies to the model in one v2 batch (or one call per row when the model takes
// no batch), finds the probability output in the answers, and scores each row with the largest L1
// change. Used by the guard (through RequestInput.callModel), by `rampart baseline --squeeze-from`
// and by the demo (calibration on the training rows).
import { looksLikeProbabilities, squeeze, squeezeScore, type SqueezeRange, type Squeezer } from '../../detect/ood/index.js';
import { responseOutputs } from './v2.js';

export interface SqueezeSetup {
  squeezers: Squeezer[];
  range: SqueezeRange;
  /** Image layout of a row for the median filter. */
  image?: { h: number; w: number; channels?: number };
}

/** The model's answer: the parsed JSON body and its status (an infer call). */
export type InferCall = (body: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;

export interface InputTemplate {
  name: string;
  datatype: string;
  /** Shape of one row (without the batch dimension). */
  rowShape: number[];
}

/** A v2 infer body holding `rows` as one batch of the input `t`. */
export function batchBody(t: InputTemplate, rows: readonly ArrayLike<number>[]): Record<string, unknown> {
  const data: number[] = [];
  for (const r of rows) for (let j = 0; j < r.length; j++) data.push(t.datatype.startsWith('FP') ? r[j]! : Math.round(r[j]!));
  return { inputs: [{ name: t.name, datatype: t.datatype, shape: [rows.length, ...t.rowShape], data }] };
}

export type ProbabilityResult = { ok: true; probs: Float64Array[] } | { ok: false; reason: string };

/**
 * The rows of class probabilities in an infer response with `rows` rows: the output named
 * `outputName`, else the first output whose rows are probability vectors.
 */
export function pickProbabilities(body: unknown, rows: number, outputName?: string): ProbabilityResult {
  const outputs = responseOutputs(body);
  if (outputs.length === 0) return { ok: false, reason: 'the model answered without numeric outputs' };
  const candidates = outputName ? outputs.filter((o) => o.name === outputName) : outputs;
  if (candidates.length === 0) return { ok: false, reason: `the model has no output named "${outputName}"` };
  for (const o of candidates) {
    if (rows === 0 || o.data.length % rows !== 0) continue;
    const classes = o.data.length / rows;
    if (!looksLikeProbabilities(o.data, classes)) continue;
    const probs: Float64Array[] = [];
    for (let r = 0; r < rows; r++) probs.push(Float64Array.from(o.data.slice(r * classes, (r + 1) * classes)));
    return { ok: true, probs };
  }
  return { ok: false, reason: outputName ? `output "${outputName}" does not hold probabilities` : 'no output holds class probabilities (rows in [0, 1] summing to 1)' };
}

export type SqueezeResult = { ok: true; scores: number[] } | { ok: false; reason: string };

/**
 * Squeezing scores of `rows` (one per row). `batch`: the model takes several rows in one call
 * (a -1 batch dimension); otherwise every original and squeezed row is its own call.
 */
export async function squeezeRows(rows: readonly ArrayLike<number>[], setup: SqueezeSetup, t: InputTemplate, call: InferCall, opts: { batch: boolean; outputName?: string }): Promise<SqueezeResult> {
  const all: ArrayLike<number>[] = [...rows];
  for (const s of setup.squeezers) for (const r of rows) all.push(squeeze(r, s, setup.range, setup.image));
  let probs: Float64Array[];
  if (opts.batch) {
    const res = await call(batchBody(t, all));
    if (res.status < 200 || res.status >= 300) return { ok: false, reason: `the model answered ${res.status} to the squeezed batch` };
    const p = pickProbabilities(res.body, all.length, opts.outputName);
    if (!p.ok) return p;
    probs = p.probs;
  } else {
    const answers = await Promise.all(all.map((r) => call(batchBody(t, [r]))));
    probs = [];
    for (const res of answers) {
      if (res.status < 200 || res.status >= 300) return { ok: false, reason: `the model answered ${res.status} to a squeezed input` };
      const p = pickProbabilities(res.body, 1, opts.outputName);
      if (!p.ok) return p;
      probs.push(p.probs[0]!);
    }
  }
  const n = rows.length;
  const scores: number[] = [];
  for (let r = 0; r < n; r++) {
    scores.push(squeezeScore(probs[r]!, setup.squeezers.map((_, k) => probs[n * (k + 1) + r]!)));
  }
  return { ok: true, scores };
}
