// The demo's tensor baseline: built at start-up from the classifier's training rows (the inputs
// the model is meant to see) and written to `<demo dir>/baselines/digits.json`, where the gateway's
// `tensor` guard reads it. Feature squeezing is calibrated on the same rows by running the model
// server's own v2 handler in process (what `rampart baseline --squeeze-from URL` does over HTTP).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildBaseline, calibrateSqueeze, writeBaseline, type TensorBaseline } from '../guards/tensor/baseline.js';
import { TensorSqueezeCalibrationError } from '../guards/tensor/errors.js';
import type { Dataset, DenseModel } from './classifier/model.js';
import { describeClassifier, infer } from './classifier/v2-protocol.js';

/** Path of the baseline relative to the demo folder (as written in gateway.yaml). */
export const DEMO_BASELINE_FILE = 'baselines/digits.json';

/** Builds the digits baseline from `train` (the classifier's training rows). */
export async function digitsBaseline(model: DenseModel, train: Dataset, name: string): Promise<TensorBaseline> {
  const b = buildBaseline({ model: name, input: { name: 'input', datatype: 'FP32', rowShape: [train.d] }, sourceFile: 'digits training rows', x: train.x, n: train.n, d: train.d });
  const desc = describeClassifier(name, model);
  const rows = Array.from({ length: train.n }, (_, i) => train.x.subarray(i * train.d, (i + 1) * train.d));
  const r = await calibrateSqueeze(b, rows, async (body) => ({ status: 200, body: infer(model, desc, body) }));
  if (!r.ok) throw new TensorSqueezeCalibrationError(r.reason);
  return r.baseline;
}

/** Writes the baseline under `dir` and returns its path. */
export async function writeDigitsBaseline(dir: string, model: DenseModel, train: Dataset, name: string): Promise<string> {
  mkdirSync(join(dir, 'baselines'), { recursive: true });
  const file = join(dir, DEMO_BASELINE_FILE);
  writeBaseline(file, await digitsBaseline(model, train, name));
  return file;
}
