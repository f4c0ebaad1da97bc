// The shipped classifier: logistic regression over hashed n-grams (int8-quantised weights, base64)
// plus one float weight per structural signal. Trained by scripts/train-injection.mjs from the
// project's own corpus (corpus.ts); the weights file is model.json next to this module.
import { hashFeatures } from './features.js';
import { N_DENSE } from './signals.js';

export interface InjectionModelFile {
  format: 'rampart-injection-lr';
  version: 1;
  /** log2 of the number of hash buckets. */
  bits: number;
  /** Hashed weights, int8 in base64; weight = int8 * scale. */
  weights: string;
  scale: number;
  /** Weights of the dense (signal) features, in DENSE_NAMES order. */
  dense: number[];
  bias: number;
  /** What the model was trained on and how it did on the held-out set (informative). */
  meta: Record<string, unknown>;
}

export interface InjectionModel {
  bits: number;
  hashed: Float32Array;
  dense: Float64Array;
  bias: number;
  meta: Record<string, unknown>;
}

export function loadModel(file: InjectionModelFile): InjectionModel {
  if (file.format !== 'rampart-injection-lr' || file.version !== 1) throw new Error('unknown injection model format');
  if (file.dense.length !== N_DENSE) throw new Error(`injection model has ${file.dense.length} dense weights, code expects ${N_DENSE}`);
  const bytes = Buffer.from(file.weights, 'base64');
  if (bytes.length !== 1 << file.bits) throw new Error('injection model weights have the wrong size');
  const hashed = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) hashed[i] = ((bytes[i] as number) << 24 >> 24) * file.scale;
  return { bits: file.bits, hashed, dense: Float64Array.from(file.dense), bias: file.bias, meta: file.meta };
}

/** Quantises trained float weights into the file format (deterministic). */
export function saveModel(bits: number, hashed: Float64Array, dense: Float64Array, bias: number, meta: Record<string, unknown>): InjectionModelFile {
  let max = 0;
  for (const w of hashed) max = Math.max(max, Math.abs(w));
  const scale = max > 0 ? max / 127 : 1;
  const bytes = Buffer.alloc(hashed.length);
  for (let i = 0; i < hashed.length; i++) bytes[i] = Math.max(-127, Math.min(127, Math.round((hashed[i] as number) / scale))) & 0xff;
  const r = (x: number): number => Number(x.toPrecision(6));
  return { format: 'rampart-injection-lr', version: 1, bits, weights: bytes.toString('base64'), scale: r(scale), dense: Array.from(dense, r), bias: r(bias), meta };
}

export interface LogitParts {
  hashed: number;
  /** Contribution of each dense feature (weight × value). */
  dense: Float64Array;
  logit: number;
}

/** Logit of one text from its normalised form and its dense signal features. */
export function logitOf(model: InjectionModel, normText: string, dense: Float64Array): LogitParts {
  const f = hashFeatures(normText, model.bits);
  let hashed = 0;
  for (let k = 0; k < f.idx.length; k++) hashed += (model.hashed[f.idx[k] as number] as number) * (f.val[k] as number);
  const parts = new Float64Array(dense.length);
  let logit = model.bias + hashed;
  for (let i = 0; i < dense.length; i++) {
    parts[i] = (model.dense[i] as number) * (dense[i] as number);
    logit += parts[i] as number;
  }
  return { hashed, dense: parts, logit };
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
