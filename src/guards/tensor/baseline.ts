// The per-model tensor baseline: what legitimate inputs of one model input look like, built by
// `rampart baseline` (or by the demo at start-up) and read by the `tensor` guard. It holds
// per-feature ranges, robust statistics (median, MAD scale), a Ledoit–Wolf Gaussian (mean, shrunk
// covariance and its inverse) and the distribution of each score on the legitimate inputs, so the
// guard's thresholds are quantiles of that distribution. Format: docs/guards.md ("Baseline file").
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileReplacing } from '../../core/replace-file.js';
import { fitLedoitWolf, fitRobust, mahalanobis, robustZScore, scoreSample, type Squeezer } from '../../detect/ood/index.js';
import { TensorBaselineInvalidError } from './errors.js';
import { squeezeRows, type InferCall, type InputTemplate, type SqueezeSetup } from './squeeze-run.js';

export const BASELINE_FORMAT = 'rampart-tensor-baseline';
export const BASELINE_VERSION = 1;
/** Folds used for the out-of-fold score distributions. */
const FOLDS = 5;
/** Clip of each robust z-score before they are combined (see robustZScore). */
export const ROBUST_Z_CLIP = 50;
/** Most scores kept per distribution in the file (evenly spaced order statistics beyond). */
const MAX_SAMPLE = 2000;

const num = z.number().finite();
const squeezerSchema = z.union([
  z.object({ kind: z.literal('bit-depth'), bits: z.number().int().min(1).max(16) }).strict(),
  z.object({ kind: z.literal('median'), size: z.number().int().min(2).max(9) }).strict(),
]);
const sampleSchema = z.array(num).min(1);

export const baselineSchema = z
  .object({
    format: z.literal(BASELINE_FORMAT),
    version: z.literal(BASELINE_VERSION),
    model: z.string().min(1),
    input: z.object({ name: z.string().min(1), datatype: z.string().nullable(), rowShape: z.array(z.number().int().min(1)).min(1) }).strict(),
    imageShape: z.tuple([z.number().int().min(1), z.number().int().min(1)]).nullable(),
    createdAt: z.string(),
    source: z.object({ file: z.string(), rows: z.number().int().min(2) }).strict(),
    features: z.number().int().min(1),
    range: z.object({ min: z.array(num), max: z.array(num) }).strict(),
    robust: z.object({ median: z.array(num), scale: z.array(num.positive()) }).strict(),
    gaussian: z.object({ mean: z.array(num), shrinkage: num.min(0).max(1), covariance: z.array(num), precision: z.array(num) }).strict(),
    scores: z
      .object({
        mahalanobis: z.object({ method: z.string(), sample: sampleSchema }).strict(),
        robustZ: z.object({ method: z.string(), clip: num.positive(), sample: sampleSchema }).strict(),
        squeeze: z.object({ squeezers: z.array(squeezerSchema).min(1), output: z.string().nullable(), sample: sampleSchema }).strict().optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const d = b.features;
    const check = (len: number, want: number, path: string) => {
      if (len !== want) ctx.addIssue({ code: z.ZodIssueCode.custom, path: path.split('.'), message: `expected ${want} values, found ${len}` });
    };
    check(b.input.rowShape.reduce((a, s) => a * s, 1), d, 'input.rowShape');
    check(b.range.min.length, d, 'range.min');
    check(b.range.max.length, d, 'range.max');
    check(b.robust.median.length, d, 'robust.median');
    check(b.robust.scale.length, d, 'robust.scale');
    check(b.gaussian.mean.length, d, 'gaussian.mean');
    check(b.gaussian.covariance.length, d * d, 'gaussian.covariance');
    check(b.gaussian.precision.length, d * d, 'gaussian.precision');
    if (b.imageShape && d % (b.imageShape[0] * b.imageShape[1]) !== 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['imageShape'], message: `an image of ${b.imageShape.join('x')} does not divide ${d} features` });
    }
  });

export type TensorBaseline = z.infer<typeof baselineSchema>;

export interface BuildBaselineInput {
  model: string;
  input: { name: string; datatype: string | null; rowShape: number[] };
  imageShape?: [number, number] | null;
  /** Display name of the source (a file's base name). */
  sourceFile: string;
  /** n rows × d features, row-major, all finite. */
  x: Float64Array;
  n: number;
  d: number;
  /** Timestamp to record (tests pass a fixed one). */
  now?: Date;
}

/** Scores of rows in fold k by statistics fitted on the other folds. */
function outOfFold(x: Float64Array, n: number, d: number): { maha: number[]; rz: number[] } {
  const maha: number[] = [];
  const rz: number[] = [];
  const folds = Math.min(FOLDS, n);
  for (let k = 0; k < folds; k++) {
    const fitRows: number[] = [];
    const testRows: number[] = [];
    for (let i = 0; i < n; i++) (i % folds === k ? testRows : fitRows).push(i);
    if (fitRows.length < 2) continue;
    const fx = new Float64Array(fitRows.length * d);
    fitRows.forEach((r, i) => fx.set(x.subarray(r * d, r * d + d), i * d));
    const g = fitLedoitWolf(fx, fitRows.length, d);
    const rs = fitRobust(fx, fitRows.length, d);
    for (const r of testRows) {
      const row = x.subarray(r * d, r * d + d);
      maha.push(mahalanobis(g, row));
      rz.push(robustZScore(rs, row, ROBUST_Z_CLIP));
    }
  }
  return { maha, rz };
}

/**
 * Builds a baseline from legitimate rows. The score distributions are out-of-fold (each row is
 * scored by statistics fitted without it, 5 folds), so thresholds taken from them reflect unseen
 * legitimate inputs rather than the rows the statistics were fitted on.
 */
export function buildBaseline(b: BuildBaselineInput): TensorBaseline {
  const { x, n, d } = b;
  if (n < 10) throw new TensorBaselineInvalidError(`a baseline needs at least 10 legitimate rows; got ${n}`);
  const min = new Array<number>(d).fill(Infinity);
  const max = new Array<number>(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      if (!Number.isFinite(v)) throw new TensorBaselineInvalidError(`row ${i + 1}, feature ${j + 1} is not a finite number`);
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  const g = fitLedoitWolf(x, n, d);
  const rs = fitRobust(x, n, d);
  const oof = outOfFold(x, n, d);
  return {
    format: BASELINE_FORMAT,
    version: BASELINE_VERSION,
    model: b.model,
    input: b.input,
    imageShape: b.imageShape ?? null,
    createdAt: (b.now ?? new Date()).toISOString(),
    source: { file: b.sourceFile, rows: n },
    features: d,
    range: { min, max },
    robust: { median: rs.median, scale: rs.scale },
    gaussian: { mean: g.mean, shrinkage: g.shrinkage, covariance: g.covariance, precision: g.precision },
    scores: {
      mahalanobis: { method: `${FOLDS}-fold out-of-fold Mahalanobis distance (Ledoit-Wolf covariance)`, sample: scoreSample(oof.maha, MAX_SAMPLE) },
      robustZ: { method: `${FOLDS}-fold out-of-fold RMS of robust z-scores`, clip: ROBUST_Z_CLIP, sample: scoreSample(oof.rz, MAX_SAMPLE) },
    },
  };
}

/** Default squeezers: 2-bit depth; plus a 2×2 median filter when the rows are images. */
export function defaultSqueezers(imageShape: [number, number] | null | undefined): Squeezer[] {
  return imageShape ? [{ kind: 'bit-depth', bits: 2 }, { kind: 'median', size: 2 }] : [{ kind: 'bit-depth', bits: 2 }];
}

/** The squeeze set-up of a baseline (range from the baseline, image layout from imageShape). */
export function squeezeSetup(b: TensorBaseline, squeezers: Squeezer[]): SqueezeSetup {
  const setup: SqueezeSetup = { squeezers, range: b.range };
  if (b.imageShape) setup.image = { h: b.imageShape[0], w: b.imageShape[1], channels: b.features / (b.imageShape[0] * b.imageShape[1]) };
  return setup;
}

/**
 * Adds the squeezing score distribution to a baseline by querying the model on `rows` (the
 * legitimate rows, or a sample of them) in batches of `batchRows`.
 */
export async function calibrateSqueeze(
  b: TensorBaseline,
  rows: readonly ArrayLike<number>[],
  call: InferCall,
  opts: { squeezers?: Squeezer[]; outputName?: string; batchRows?: number; datatype?: string } = {},
): Promise<{ ok: true; baseline: TensorBaseline } | { ok: false; reason: string }> {
  const squeezers = opts.squeezers ?? defaultSqueezers(b.imageShape);
  const setup = squeezeSetup(b, squeezers);
  const t: InputTemplate = { name: b.input.name, datatype: opts.datatype ?? b.input.datatype ?? 'FP32', rowShape: b.input.rowShape };
  const step = opts.batchRows ?? 64;
  const scores: number[] = [];
  for (let i = 0; i < rows.length; i += step) {
    const r = await squeezeRows(rows.slice(i, i + step), setup, t, call, { batch: true, outputName: opts.outputName });
    if (!r.ok) return r;
    scores.push(...r.scores);
  }
  if (scores.length === 0) return { ok: false, reason: 'no rows to calibrate on' };
  return {
    ok: true,
    baseline: { ...b, scores: { ...b.scores, squeeze: { squeezers, output: opts.outputName ?? null, sample: scoreSample(scores, MAX_SAMPLE) } } },
  };
}

/** Reads and validates a baseline file; throws RAMPART_ERR_TENSOR_BASELINE_INVALID naming the problem. */
export function readBaseline(file: string): TensorBaseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TensorBaselineInvalidError(`cannot read the tensor baseline ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  return parseBaseline(text, file);
}

/** Validates baseline JSON text (see readBaseline). */
export function parseBaseline(text: string, name = 'baseline'): TensorBaseline {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TensorBaselineInvalidError(`${name} is not JSON`);
  }
  const fmt = (raw as { format?: unknown } | null)?.format;
  if (fmt !== BASELINE_FORMAT) throw new TensorBaselineInvalidError(`${name} is not a tensor baseline (format ${JSON.stringify(fmt ?? null)})`);
  const ver = (raw as { version?: unknown }).version;
  if (ver !== BASELINE_VERSION) throw new TensorBaselineInvalidError(`${name} has version ${JSON.stringify(ver)}; this Rampart reads version ${BASELINE_VERSION}`);
  const r = baselineSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new TensorBaselineInvalidError(`${name}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

/**
 * Writes a baseline whole or not at all (temporary file in the same folder, then rename); a device
 * or FIFO (`-o /dev/stdout`) is written directly and a symbolic link followed (core/replace-file.ts).
 */
export function writeBaseline(file: string, b: TensorBaseline): void {
  writeFileReplacing(file, `${JSON.stringify(b)}\n`);
}
