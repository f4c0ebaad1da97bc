// The drift detectors' sliding windows: a shift is reported once it fills part of one window, well
// before a whole new window of drifted events has arrived; a steady stream is never reported.
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../events/schema.js';
import { mulberry32 as seededRandom } from '../../detect/random.js';
import { InputDriftDetector, OutputDriftDetector, inputDriftSchema, outputDriftSchema } from './drift.js';

function firstDetection(feed: (i: number) => ReturnType<typeof makeEvent>, n: number, det: { observe: (e: ReturnType<typeof makeEvent>) => unknown[] }): number | null {
  for (let i = 0; i < n; i++) if (det.observe(feed(i)).length) return i;
  return null;
}

describe('drift detectors', () => {
  it('output drift: reported within 0.7 of a window of the shift, never on a steady stream', () => {
    const rnd = seededRandom(11);
    const shiftAt = 3060;
    const pred = (i: number) => {
      const drifted = i >= shiftAt;
      // Steady: ten classes evenly; drifted: class 3 takes half of the predictions.
      const c = drifted && rnd() < 0.5 ? 3 : Math.floor(rnd() * 10);
      return makeEvent({ type: 'model.prediction', source: 't', model: 'm', time: i * 1000, data: { class: String(c), confidence: 0.6 + 0.4 * rnd() } });
    };
    const p = outputDriftSchema.parse({});
    const at = firstDetection(pred, 6000, new OutputDriftDetector(p));
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(shiftAt);
    // A tumbling window would need the window after the one the shift began in (439 events here).
    expect(at! - shiftAt).toBeLessThanOrEqual(p.windowSize * 0.7);
    const steady = new OutputDriftDetector(p);
    const rnd2 = seededRandom(12);
    expect(firstDetection((i) => makeEvent({ type: 'model.prediction', source: 't', model: 'm', time: i, data: { class: String(Math.floor(rnd2() * 10)), confidence: rnd2() } }), 20_000, steady)).toBeNull();
  });

  it('input drift: a feature scaled ×1.8 is reported within 0.7 of a window; steady features are not', () => {
    const rnd = seededRandom(5);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const shiftAt = 2560;
    const rec = (i: number) =>
      makeEvent({ type: 'data.record', source: 'ingest', time: i, data: { features: { amount: Math.exp(3 + 0.5 * normal()) * (i >= shiftAt ? 1.8 : 1), age: 40 + 12 * normal() } } });
    const p = inputDriftSchema.parse({});
    const det = new InputDriftDetector(p);
    let at: number | null = null;
    let detail: unknown;
    for (let i = 0; i < 6000 && at === null; i++) {
      const d = det.observe(rec(i));
      if (d.length) {
        at = i;
        detail = d[0]!.details;
      }
    }
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(shiftAt);
    // A tumbling window would need the window after the one the shift began in (439 events here).
    expect(at! - shiftAt).toBeLessThanOrEqual(p.windowSize * 0.7);
    expect((detail as { features: { feature: string }[] }).features.map((f) => f.feature)).toEqual(['amount']);
  });
});
