// Writes legacy Keras HDF5 files with h5wasm (root attributes model_config / training_config and a
// model_weights group), returning their bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import h5wasm from 'h5wasm/node';

export async function buildKerasH5(attrs: Record<string, string>, weights = true): Promise<Uint8Array> {
  await h5wasm.ready;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-h5fx-'));
  try {
    const file = path.join(dir, 'm.h5');
    const f = new h5wasm.File(file, 'w');
    for (const [k, v] of Object.entries(attrs)) f.create_attribute(k, v);
    if (weights) {
      const g = f.create_group('model_weights');
      g.create_attribute('layer_names', ['dense']);
      const d = g.create_group('dense');
      d.create_dataset({ name: 'kernel:0', data: new Float32Array(32).fill(0.5), shape: [8, 4] });
    }
    f.close();
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const TRAINING_CONFIG = JSON.stringify({
  loss: 'mse',
  metrics: ['mae'],
  optimizer_config: { class_name: 'Adam', config: { name: 'Adam', learning_rate: 0.001 } },
});
