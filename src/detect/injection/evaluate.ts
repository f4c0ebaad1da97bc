// Precision, recall and false-positive rate of a scorer on a labelled set, overall and per attack
// family / benign category. Shared by the training script, the benchmark and the tests.
import type { CorpusExample } from './corpus.js';

export interface GroupFigures {
  n: number;
  /** Share flagged at the threshold: recall for an attack family, false-positive rate for a benign category. */
  flagged: number;
}

export interface EvalFigures {
  threshold: number;
  n: number;
  precision: number;
  recall: number;
  fpr: number;
  f1: number;
  families: Record<string, GroupFigures>;
}

export function evaluateScores(examples: readonly CorpusExample[], scores: readonly number[], threshold: number): EvalFigures {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  const fam = new Map<string, { n: number; hit: number }>();
  examples.forEach((e, i) => {
    const hit = (scores[i] as number) >= threshold;
    if (e.label === 1) {
      if (hit) tp++;
      else fn++;
    } else if (hit) fp++;
    else tn++;
    const g = fam.get(e.family) ?? { n: 0, hit: 0 };
    g.n++;
    if (hit) g.hit++;
    fam.set(e.family, g);
  });
  const r4 = (x: number): number => Math.round(x * 10000) / 10000;
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  const families: Record<string, GroupFigures> = {};
  for (const [k, g] of fam) families[k] = { n: g.n, flagged: r4(g.hit / g.n) };
  return {
    threshold,
    n: examples.length,
    precision: r4(precision),
    recall: r4(recall),
    fpr: r4(fp + tn ? fp / (fp + tn) : 0),
    f1: r4(precision + recall ? (2 * precision * recall) / (precision + recall) : 0),
    families,
  };
}
