// A small dense classifier (softmax regression, or one hidden ReLU layer) trained with seeded
// mini-batch Adam. Pure math on arrays, no I/O: the demo's KServe classifier serves it, and the
// extraction and adversarial evaluations reuse it (they need probabilities and input gradients).
//
// Inputs are raw feature vectors; the model keeps its own input scaling (`inputScale`) so callers
// send the data set's units (0–16 pixel counts for digits) and gradients are w.r.t. those units.
import { DemoModelInvalidError } from '../errors.js';

/** A labelled data set stored row-major: row i is x[i*d .. i*d+d). */
export interface Dataset {
  n: number;
  d: number;
  x: Float64Array;
  y: Int32Array;
}

export interface TrainOptions {
  /** Units in the hidden ReLU layer; 0 trains softmax regression (a linear model). */
  hidden?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 penalty on weights (not biases). */
  l2?: number;
  seed?: number;
  /** Inputs are multiplied by this before the first layer (1/16 for digit pixel counts). */
  inputScale?: number;
}

/** Weights of one dense layer: w is row-major [inputs × outputs]. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  w: Float64Array;
  b: Float64Array;
}

export interface DenseModel {
  inputs: number;
  classes: number;
  inputScale: number;
  /** One layer (softmax regression) or two (ReLU hidden layer, then softmax). */
  layers: DenseLayer[];
}

/** A deterministic 32-bit PRNG (mulberry32); returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of 0..n-1 with a seeded generator. */
export function shuffledIndices(n: number, rand: () => number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

/** Rows of `ds` picked by `rows`, in that order. */
export function subset(ds: Dataset, rows: ArrayLike<number>): Dataset {
  const n = rows.length;
  const x = new Float64Array(n * ds.d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    x.set(ds.x.subarray(r * ds.d, r * ds.d + ds.d), i * ds.d);
    y[i] = ds.y[r]!;
  }
  return { n, d: ds.d, x, y };
}

/**
 * Stratified train/test split with a fixed seed: `testFraction` of each class goes to the test set,
 * so both sets keep the class balance whatever the seed.
 */
export function splitTrainTest(ds: Dataset, testFraction: number, seed: number): { train: Dataset; test: Dataset } {
  const rand = seededRandom(seed);
  const order = shuffledIndices(ds.n, rand);
  const byClass = new Map<number, number[]>();
  for (const r of order) {
    const c = ds.y[r]!;
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(r);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    const k = Math.round(rows.length * testFraction);
    test.push(...rows.slice(0, k));
    train.push(...rows.slice(k));
  }
  // Interleave classes again so consumers that take a prefix get a mix.
  const mix = (rows: number[]) => {
    const o = shuffledIndices(rows.length, rand);
    return Array.from(o, (i) => rows[i]!);
  };
  return { train: subset(ds, mix(train)), test: subset(ds, mix(test)) };
}

function gaussian(rand: () => number): number {
  // Box–Muller; 1 - u keeps the logarithm finite.
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function newLayer(inputs: number, outputs: number, rand: () => number, he: boolean): DenseLayer {
  const w = new Float64Array(inputs * outputs);
  const scale = Math.sqrt((he ? 2 : 1) / inputs);
  for (let i = 0; i < w.length; i++) w[i] = gaussian(rand) * scale;
  return { inputs, outputs, w, b: new Float64Array(outputs) };
}

/** Writes softmax(z) into out, in place safe. */
function softmaxInto(z: Float64Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i]! > max) max = z[i]!;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const e = Math.exp(z[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < z.length; i++) out[i] = out[i]! / sum;
}

/** y = x·W + b for one row. */
function denseForward(layer: DenseLayer, x: ArrayLike<number>, out: Float64Array): void {
  const { inputs, outputs, w, b } = layer;
  out.set(b);
  for (let i = 0; i < inputs; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * outputs;
    for (let j = 0; j < outputs; j++) out[j] = out[j]! + xi * w[row + j]!;
  }
}

interface Trace {
  input: Float64Array;
  /** Post-ReLU activations of the hidden layer (absent for softmax regression). */
  hidden?: Float64Array;
  probs: Float64Array;
}

function forwardTrace(model: DenseModel, features: ArrayLike<number>): Trace {
  const input = new Float64Array(model.inputs);
  for (let i = 0; i < model.inputs; i++) input[i] = features[i]! * model.inputScale;
  const probs = new Float64Array(model.classes);
  if (model.layers.length === 1) {
    denseForward(model.layers[0]!, input, probs);
    softmaxInto(probs, probs);
    return { input, probs };
  }
  const [l1, l2] = model.layers as [DenseLayer, DenseLayer];
  const hidden = new Float64Array(l1.outputs);
  denseForward(l1, input, hidden);
  for (let j = 0; j < hidden.length; j++) if (hidden[j]! < 0) hidden[j] = 0;
  denseForward(l2, hidden, probs);
  softmaxInto(probs, probs);
  return { input, hidden, probs };
}

/** Class probabilities for one feature vector (length `model.inputs`). */
export function predictProba(model: DenseModel, features: ArrayLike<number>): Float64Array {
  return forwardTrace(model, features).probs;
}

/** Index of the largest probability (lowest index on ties). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export function predictLabel(model: DenseModel, features: ArrayLike<number>): number {
  return argmax(predictProba(model, features));
}

/** Share of rows of `ds` whose predicted label equals the true one. */
export function accuracy(model: DenseModel, ds: Dataset): number {
  if (ds.n === 0) return 0;
  let ok = 0;
  for (let r = 0; r < ds.n; r++) {
    if (predictLabel(model, ds.x.subarray(r * ds.d, r * ds.d + ds.d)) === ds.y[r]) ok++;
  }
  return ok / ds.n;
}

/**
 * Backpropagates dLoss/dlogits (`gradLogits`) through the model. Accumulates parameter gradients
 * into `grads` when given and returns dLoss/dfeatures (in the caller's units, scaling included).
 */
function backward(model: DenseModel, trace: Trace, gradLogits: Float64Array, grads?: DenseLayer[]): Float64Array {
  const gradInput = new Float64Array(model.inputs);
  const last = model.layers[model.layers.length - 1]!;
  const lastIn = trace.hidden ?? trace.input;
  const gradLastIn = new Float64Array(last.inputs);
  for (let i = 0; i < last.inputs; i++) {
    const row = i * last.outputs;
    let s = 0;
    const a = lastIn[i]!;
    for (let j = 0; j < last.outputs; j++) {
      const g = gradLogits[j]!;
      s += last.w[row + j]! * g;
      if (grads && a !== 0) grads[grads.length - 1]!.w[row + j]! += a * g;
    }
    gradLastIn[i] = s;
  }
  if (grads) {
    const gb = grads[grads.length - 1]!.b;
    for (let j = 0; j < last.outputs; j++) gb[j] = gb[j]! + gradLogits[j]!;
  }
  if (model.layers.length === 1) {
    for (let i = 0; i < model.inputs; i++) gradInput[i] = gradLastIn[i]! * model.inputScale;
    return gradInput;
  }
  const first = model.layers[0]!;
  const hidden = trace.hidden!;
  const gradPre = new Float64Array(first.outputs);
  for (let j = 0; j < first.outputs; j++) gradPre[j] = hidden[j]! > 0 ? gradLastIn[j]! : 0;
  for (let i = 0; i < first.inputs; i++) {
    const row = i * first.outputs;
    const a = trace.input[i]!;
    let s = 0;
    for (let j = 0; j < first.outputs; j++) {
      const g = gradPre[j]!;
      if (g === 0) continue;
      s += first.w[row + j]! * g;
      if (grads && a !== 0) grads[0]!.w[row + j]! += a * g;
    }
    gradInput[i] = s * model.inputScale;
  }
  if (grads) {
    const gb = grads[0]!.b;
    for (let j = 0; j < first.outputs; j++) gb[j] = gb[j]! + gradPre[j]!;
  }
  return gradInput;
}

/**
 * Gradient of the cross-entropy loss for `label` with respect to the input features (the
 * direction FGSM and PGD step along), plus the loss itself.
 */
export function inputGradient(model: DenseModel, features: ArrayLike<number>, label: number): { loss: number; gradient: Float64Array } {
  const trace = forwardTrace(model, features);
  const g = Float64Array.from(trace.probs);
  g[label] = g[label]! - 1;
  return { loss: -Math.log(Math.max(trace.probs[label]!, 1e-300)), gradient: backward(model, trace, g) };
}

/** Mean cross-entropy over a data set. */
export function meanLoss(model: DenseModel, ds: Dataset): number {
  let total = 0;
  for (let r = 0; r < ds.n; r++) {
    const p = predictProba(model, ds.x.subarray(r * ds.d, r * ds.d + ds.d));
    total += -Math.log(Math.max(p[ds.y[r]!]!, 1e-300));
  }
  return ds.n ? total / ds.n : 0;
}

/**
 * Trains a dense classifier with mini-batch Adam. Deterministic for a given data set and options.
 *
 * @example
 * const { train, test } = splitTrainTest(ds, 0.2, 7);
 * const model = trainClassifier(train, 10, { inputScale: 1 / 16 });
 * accuracy(model, test); // ≈ 0.96 (softmax regression, about 0.3 s)
 */
export function trainClassifier(train: Dataset, classes: number, options: TrainOptions = {}): DenseModel {
  const hidden = options.hidden ?? 0;
  const epochs = options.epochs ?? 15;
  const batchSize = options.batchSize ?? 32;
  const lr = options.learningRate ?? 0.03;
  const l2 = options.l2 ?? 1e-4;
  const rand = seededRandom(options.seed ?? 1);
  const model: DenseModel = {
    inputs: train.d,
    classes,
    inputScale: options.inputScale ?? 1,
    layers: hidden > 0 ? [newLayer(train.d, hidden, rand, true), newLayer(hidden, classes, rand, false)] : [newLayer(train.d, classes, rand, false)],
  };
  const zeros = () => model.layers.map((l) => ({ ...l, w: new Float64Array(l.w.length), b: new Float64Array(l.b.length) }));
  const m = zeros();
  const v = zeros();
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffledIndices(train.n, rand);
    for (let start = 0; start < train.n; start += batchSize) {
      const end = Math.min(train.n, start + batchSize);
      const grads = zeros();
      for (let k = start; k < end; k++) {
        const r = order[k]!;
        const trace = forwardTrace(model, train.x.subarray(r * train.d, r * train.d + train.d));
        const g = Float64Array.from(trace.probs);
        g[train.y[r]!] = g[train.y[r]!]! - 1;
        backward(model, trace, g, grads);
      }
      const scale = 1 / (end - start);
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      model.layers.forEach((layer, li) => {
        const update = (p: Float64Array, gp: Float64Array, mp: Float64Array, vp: Float64Array, decay: number) => {
          for (let i = 0; i < p.length; i++) {
            const gi = gp[i]! * scale + decay * p[i]!;
            mp[i] = beta1 * mp[i]! + (1 - beta1) * gi;
            vp[i] = beta2 * vp[i]! + (1 - beta2) * gi * gi;
            p[i] = p[i]! - (lr * (mp[i]! / c1)) / (Math.sqrt(vp[i]! / c2) + 1e-8);
          }
        };
        update(layer.w, grads[li]!.w, m[li]!.w, v[li]!.w, l2);
        update(layer.b, grads[li]!.b, m[li]!.b, v[li]!.b, 0);
      });
    }
  }
  return model;
}

const MAGIC = 'rampart-dense-model/v1';

/** Serialises a model as JSON (weights as float64 arrays), e.g. to store it encrypted at rest. */
export function serializeModel(model: DenseModel): string {
  return JSON.stringify({
    format: MAGIC,
    inputs: model.inputs,
    classes: model.classes,
    inputScale: model.inputScale,
    layers: model.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, w: Array.from(l.w), b: Array.from(l.b) })),
  });
}

/** Parses `serializeModel` output; throws RAMPART_ERR_DEMO_MODEL_INVALID naming what is wrong. */
export function deserializeModel(text: string): DenseModel {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new DemoModelInvalidError('serialised model is not JSON');
  }
  if (!raw || raw.format !== MAGIC) throw new DemoModelInvalidError('not a rampart dense model');
  const int = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) throw new DemoModelInvalidError(`bad ${what}`);
    return v;
  };
  const inputs = int(raw.inputs, 'inputs');
  const classes = int(raw.classes, 'classes');
  const inputScale = raw.inputScale;
  if (typeof inputScale !== 'number' || !Number.isFinite(inputScale)) throw new DemoModelInvalidError('bad inputScale');
  if (!Array.isArray(raw.layers) || raw.layers.length < 1 || raw.layers.length > 2) throw new DemoModelInvalidError('bad layers');
  const layers = (raw.layers as Record<string, unknown>[]).map((l, i) => {
    const li = int(l?.inputs, `layers[${i}].inputs`);
    const lo = int(l?.outputs, `layers[${i}].outputs`);
    const arr = (v: unknown, len: number, what: string) => {
      if (!Array.isArray(v) || v.length !== len || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new DemoModelInvalidError(`bad ${what}`);
      return Float64Array.from(v as number[]);
    };
    return { inputs: li, outputs: lo, w: arr(l.w, li * lo, `layers[${i}].w`), b: arr(l.b, lo, `layers[${i}].b`) };
  });
  const chainOk = layers[0]!.inputs === inputs && layers[layers.length - 1]!.outputs === classes && (layers.length === 1 || layers[0]!.outputs === layers[1]!.inputs);
  if (!chainOk) throw new DemoModelInvalidError('layer sizes do not chain');
  return { inputs, classes, inputScale, layers };
}
