import { describe, expect, it } from 'vitest';
import { loadDigits, parseDigitsCsv, DIGITS_CLASSES } from './digits.js';
import { accuracy, deserializeModel, inputGradient, predictProba, serializeModel, splitTrainTest, trainClassifier, type DenseModel } from './model.js';

const ds = loadDigits();

describe('digits data set', () => {
  it('loads the shipped copy', () => {
    expect(ds.n).toBe(1797);
    expect(ds.d).toBe(64);
    expect(new Set(ds.y).size).toBe(10);
  });
  it('rejects malformed rows with a coded error', () => {
    const good = `${'0,'.repeat(64)}3`;
    expect(parseDigitsCsv(good).y[0]).toBe(3);
    for (const bad of ['', `${'0,'.repeat(63)}3`, `${'0,'.repeat(64)}10`, `${'17,'.repeat(64)}1`, `${'x,'.repeat(64)}1`, `${'-1,'.repeat(64)}1`]) {
      expect(() => parseDigitsCsv(bad)).toThrowError(expect.objectContaining({ code: 'RAMPART_ERR_DEMO_DATA_INVALID' }) as Error);
    }
  });
});

describe('dense classifier', () => {
  const { train, test } = splitTrainTest(ds, 0.2, 42);

  it('splits stratified and disjoint', () => {
    expect(train.n + test.n).toBe(ds.n);
    const counts = new Array<number>(10).fill(0);
    for (const c of test.y) counts[c]!++;
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(34);
  });

  for (const hidden of [0, 16]) {
    it(`trains to >= 0.9 held-out accuracy, deterministically (hidden=${hidden})`, () => {
      const model = trainClassifier(train, DIGITS_CLASSES, { hidden, inputScale: 1 / 16, seed: 7, epochs: hidden ? 8 : 15 });
      const acc = accuracy(model, test);
      expect(acc).toBeGreaterThanOrEqual(0.9);
      if (hidden === 0) {
        const again = trainClassifier(train, DIGITS_CLASSES, { hidden, inputScale: 1 / 16, seed: 7, epochs: 15 });
        expect(Array.from(again.layers[0]!.w)).toEqual(Array.from(model.layers[0]!.w));
      }
      checkGradient(model, test.x.subarray(0, 64), test.y[0]!);
    });
  }

  it('round-trips through serialisation and rejects damaged copies', () => {
    const model = trainClassifier(train, DIGITS_CLASSES, { inputScale: 1 / 16, epochs: 2 });
    const back = deserializeModel(serializeModel(model));
    const x = test.x.subarray(0, 64);
    expect(Array.from(predictProba(back, x))).toEqual(Array.from(predictProba(model, x)));
    const text = serializeModel(model);
    for (const bad of ['{}', text.replace('"classes":10', '"classes":11'), text.replace(/\[[^\]]*\]/, '[1,2]'), 'null', '{', text.slice(0, 100)]) {
      expect(() => deserializeModel(bad)).toThrowError(expect.objectContaining({ code: 'RAMPART_ERR_DEMO_MODEL_INVALID' }) as Error);
    }
  });
});

/** Compares the analytic input gradient with central finite differences. */
function checkGradient(model: DenseModel, x: ArrayLike<number>, label: number): void {
  const { gradient } = inputGradient(model, x, label);
  const loss = (v: Float64Array) => -Math.log(predictProba(model, v)[label]!);
  for (const i of [10, 20, 27, 36, 43]) {
    const h = 1e-4;
    const a = Float64Array.from(x);
    const b = Float64Array.from(x);
    a[i] = a[i]! + h;
    b[i] = b[i]! - h;
    const numeric = (loss(a) - loss(b)) / (2 * h);
    expect(gradient[i]!).toBeCloseTo(numeric, 4);
  }
}
