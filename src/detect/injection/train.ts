// Deterministic training of the injection classifier: logistic regression with AdaGrad and L2 over
// hashed n-grams plus the dense signal features, examples visited in a seeded order. Same corpus,
// same code, same Node version: same weights (scripts/train-injection.mjs writes model.json; a test
// retrains and compares).
import { mulberry32 } from '../random.js';
import { hashFeatures, type SparseVector } from './features.js';
import { saveModel, type InjectionModelFile } from './model.js';
import { computeSignals, N_DENSE } from './signals.js';

export interface TrainExample {
  text: string;
  label: 0 | 1;
}

export interface TrainOptions {
  bits?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  meta?: Record<string, unknown>;
}

interface Prepared {
  f: SparseVector;
  dense: Float64Array;
  y: number;
}

export function prepare(examples: readonly TrainExample[], bits: number): Prepared[] {
  return examples.map((e) => {
    const s = computeSignals(e.text);
    return { f: hashFeatures(s.norm.text, bits), dense: s.dense, y: e.label };
  });
}

export function trainInjectionModel(examples: readonly TrainExample[], opts: TrainOptions = {}): InjectionModelFile {
  const bits = opts.bits ?? 16;
  const epochs = opts.epochs ?? 12;
  const lr = opts.learningRate ?? 0.5;
  const l2 = opts.l2 ?? 1e-6;
  const rand = mulberry32(opts.seed ?? 20261128);
  const data = prepare(examples, bits);
  const size = 1 << bits;
  const w = new Float64Array(size);
  const g2 = new Float64Array(size).fill(1e-8);
  const wd = new Float64Array(N_DENSE);
  const gd2 = new Float64Array(N_DENSE).fill(1e-8);
  let bias = 0;
  let gb2 = 1e-8;
  // Balance the classes: each class carries half of the total weight.
  const pos = data.reduce((a, d) => a + d.y, 0);
  const wPos = data.length / (2 * Math.max(1, pos));
  const wNeg = data.length / (2 * Math.max(1, data.length - pos));
  const order = data.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const k of order) {
      const d = data[k] as Prepared;
      let z = bias;
      for (let t = 0; t < d.f.idx.length; t++) z += (w[d.f.idx[t] as number] as number) * (d.f.val[t] as number);
      for (let t = 0; t < N_DENSE; t++) z += (wd[t] as number) * (d.dense[t] as number);
      const p = 1 / (1 + Math.exp(-z));
      const g = (p - d.y) * (d.y === 1 ? wPos : wNeg);
      for (let t = 0; t < d.f.idx.length; t++) {
        const i = d.f.idx[t] as number;
        const gi = g * (d.f.val[t] as number) + l2 * (w[i] as number);
        g2[i] = (g2[i] as number) + gi * gi;
        w[i] = (w[i] as number) - (lr * gi) / Math.sqrt(g2[i] as number);
      }
      for (let t = 0; t < N_DENSE; t++) {
        const v = d.dense[t] as number;
        if (v === 0) continue;
        const gi = g * v + l2 * (wd[t] as number);
        gd2[t] = (gd2[t] as number) + gi * gi;
        wd[t] = (wd[t] as number) - (lr * gi) / Math.sqrt(gd2[t] as number);
      }
      gb2 += g * g;
      bias -= (lr * g) / Math.sqrt(gb2);
    }
  }
  return saveModel(bits, w, wd, bias, opts.meta ?? {});
}

/**
 * The shipped model: trained on the training split of the corpus, with held-out figures in `meta`.
 * scripts/train-injection.mjs writes its JSON to model.json; model.test.ts checks they agree.
 */
export async function buildShippedModel(): Promise<InjectionModelFile> {
  const { generateCorpus } = await import('./corpus.js');
  const { loadModel } = await import('./model.js');
  const { detectInjection } = await import('./detector.js');
  const { evaluateScores } = await import('./evaluate.js');
  const train = generateCorpus('train');
  const held = generateCorpus('eval');
  const file = trainInjectionModel(train, {
    meta: { corpus: 'src/detect/injection/corpus.ts', trainExamples: train.length, trainAttacks: train.filter((e) => e.label === 1).length },
  });
  const model = loadModel(file);
  const scores = held.map((e) => detectInjection(e.text, { model }).score);
  const at = (t: number): Record<string, number> => {
    const f = evaluateScores(held, scores, t);
    return { threshold: t, precision: f.precision, recall: f.recall, fpr: f.fpr };
  };
  file.meta.heldOut = { examples: held.length, attacks: held.filter((e) => e.label === 1).length, flag: at(0.5), block: at(0.85) };
  return file;
}
