// Model behaviour drift. Output drift: the class distribution and the confidence histogram of the
// latest `windowSize` `model.prediction` events against a reference (the first `referenceSize`
// predictions), by PSI with chi-square and Jensen–Shannon as supporting evidence. Input drift: each
// numeric feature of `data.record` events, by the two-sample KS test and the Wasserstein-1 distance
// (in reference standard deviations). Both windows slide: they are evaluated every `step` new
// events, so a shift is seen once it fills a share of one window rather than after the window in
// which it began has been replaced by a whole new one.
import { z } from 'zod';
import { chiSquare, histogram, jensenShannon, ksTwoSample, psi, sdOf, wasserstein1 } from '../../detect/stats.js';
import type { RampartEvent } from '../../events/schema.js';
import type { Detection, Detector } from './types.js';

export const outputDriftSchema = z
  .object({
    enabled: z.boolean().default(true),
    referenceSize: z.number().int().positive().default(1000),
    windowSize: z.number().int().positive().default(500),
    /** The window is evaluated again after this many new predictions (sliding window). */
    step: z.number().int().positive().default(100),
    /** PSI of the class or confidence distribution that is drift. */
    psiThreshold: z.number().positive().default(0.25),
    /** And a chi-square p-value below this (guards against small-sample noise). */
    maxPValue: z.number().positive().default(0.001),
    confidenceBins: z.number().int().min(2).default(10),
  })
  .strict();

export const inputDriftSchema = z
  .object({
    enabled: z.boolean().default(true),
    referenceSize: z.number().int().positive().default(1000),
    windowSize: z.number().int().positive().default(500),
    /** The window is evaluated again after this many new records (sliding window). */
    step: z.number().int().positive().default(100),
    /** KS p-value below which a feature drifted... */
    maxPValue: z.number().positive().default(1e-6),
    /** ...and a KS statistic at least this large. */
    minStatistic: z.number().positive().default(0.1),
    /** Most features tracked per source. */
    maxFeatures: z.number().int().positive().default(64),
  })
  .strict();

type OutputParams = z.output<typeof outputDriftSchema>;
type InputParams = z.output<typeof inputDriftSchema>;

export class OutputDriftDetector implements Detector {
  readonly id = 'output-drift';
  private readonly models = new Map<
    string,
    { classes: Map<string, number>; refClass: number[] | null; refConf: number[] | null; cls: string[]; conf: number[]; sinceEval: number }
  >();
  constructor(private readonly p: OutputParams) {}

  observe(e: RampartEvent): Detection[] {
    if (e.type !== 'model.prediction' || typeof e.data.class !== 'string') return [];
    const model = e.model ?? '-';
    let s = this.models.get(model);
    if (!s) this.models.set(model, (s = { classes: new Map(), refClass: null, refConf: null, cls: [], conf: [], sinceEval: 0 }));
    s.cls.push(e.data.class);
    s.conf.push(typeof e.data.confidence === 'number' ? e.data.confidence : 0);
    if (!s.refClass) {
      if (s.cls.length < this.p.referenceSize) return [];
      s.refClass = this.classHistogram(s, s.cls);
      s.refConf = histogram(s.conf, this.p.confidenceBins, 0, 1);
      s.cls = [];
      s.conf = [];
      return [];
    }
    if (!slide(s, [s.cls, s.conf], this.p)) return [];
    const classHist = this.classHistogram(s, s.cls);
    const confHist = histogram(s.conf, this.p.confidenceBins, 0, 1);
    const ref = [...s.refClass, ...new Array<number>(classHist.length - s.refClass.length).fill(0)];
    const psiClass = psi(ref, classHist);
    const psiConf = psi(s.refConf!, confHist);
    const chiClass = chiSquare(ref, classHist);
    const chiConf = chiSquare(s.refConf!, confHist);
    const classDrift = psiClass >= this.p.psiThreshold && chiClass.pValue < this.p.maxPValue;
    const confDrift = psiConf >= this.p.psiThreshold && chiConf.pValue < this.p.maxPValue;
    if (!classDrift && !confDrift) return [];
    return [
      {
        detector: this.id,
        dedupKey: `${this.id}:${model}`,
        severity: 'high',
        title: `Output drift of ${model}: ${classDrift ? `class PSI ${psiClass.toFixed(2)}` : ''}${classDrift && confDrift ? ', ' : ''}${confDrift ? `confidence PSI ${psiConf.toFixed(2)}` : ''}`,
        time: e.time,
        subject: { model },
        details: {
          psiClass,
          psiConfidence: psiConf,
          jsClass: jensenShannon(ref, classHist),
          jsConfidence: jensenShannon(s.refConf!, confHist),
          chiSquareClassP: chiClass.pValue,
          chiSquareConfidenceP: chiConf.pValue,
          classes: [...s.classes.keys()],
        },
      },
    ];
  }

  private classHistogram(s: { classes: Map<string, number> }, values: string[]): number[] {
    for (const v of values) if (!s.classes.has(v) && s.classes.size < 1000) s.classes.set(v, s.classes.size);
    const h = new Array<number>(s.classes.size).fill(0);
    for (const v of values) {
      const i = s.classes.get(v);
      if (i !== undefined) h[i]!++;
    }
    return h;
  }

  tick(): Detection[] {
    return [];
  }
}

export class InputDriftDetector implements Detector {
  readonly id = 'input-drift';
  private readonly sources = new Map<string, { ref: Map<string, number[]> | null; cur: Map<string, number[]>; n: number; sinceEval: number }>();
  constructor(private readonly p: InputParams) {}

  observe(e: RampartEvent): Detection[] {
    if (e.type !== 'data.record' || typeof e.data.features !== 'object' || e.data.features === null) return [];
    const src = e.model ?? e.source;
    let s = this.sources.get(src);
    if (!s) this.sources.set(src, (s = { ref: null, cur: new Map(), n: 0, sinceEval: 0 }));
    for (const [k, v] of Object.entries(e.data.features as Record<string, unknown>)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      let arr = s.cur.get(k);
      if (!arr) {
        if (s.cur.size >= this.p.maxFeatures) continue;
        s.cur.set(k, (arr = []));
      }
      arr.push(v);
    }
    if (!s.ref) {
      if (++s.n < this.p.referenceSize) return [];
      s.ref = s.cur;
      s.cur = new Map();
      s.n = 0;
      return [];
    }
    if (!slide(s, [...s.cur.values()], this.p)) return [];
    const cur = s.cur;
    const drifted: Record<string, unknown>[] = [];
    for (const [k, values] of cur) {
      const ref = s.ref.get(k);
      if (!ref || ref.length < 10 || values.length < 10) continue;
      const ks = ksTwoSample(ref, values);
      if (ks.pValue < this.p.maxPValue && ks.statistic >= this.p.minStatistic) {
        const sd = sdOf(ref) || 1;
        drifted.push({ feature: k, ks: ks.statistic, pValue: ks.pValue, wassersteinSd: wasserstein1(ref, values) / sd });
      }
    }
    if (drifted.length === 0) return [];
    return [
      {
        detector: this.id,
        dedupKey: `${this.id}:${src}`,
        severity: 'medium',
        title: `Input drift in ${src}: ${drifted.map((d) => d.feature as string).join(', ')}`,
        time: e.time,
        subject: { source: src },
        details: { features: drifted },
      },
    ];
  }

  tick(): Detection[] {
    return [];
  }
}

/**
 * Sliding-window bookkeeping shared by both detectors: counts the new event, and once the window is
 * full and `step` events arrived since the last evaluation, trims every series to the latest
 * `windowSize` values and says that the window is due. Series may be shorter than the window
 * (features missing from some records); each keeps its own latest values.
 */
function slide(s: { sinceEval: number }, series: unknown[][], p: { windowSize: number; step: number }): boolean {
  s.sinceEval++;
  const longest = series.reduce((m, a) => Math.max(m, a.length), 0);
  if (longest < p.windowSize || s.sinceEval < p.step) return false;
  s.sinceEval = 0;
  for (const a of series) if (a.length > p.windowSize) a.splice(0, a.length - p.windowSize);
  return true;
}
