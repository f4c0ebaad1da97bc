// Trains the prompt-injection classifier from the project's own corpus and writes its weights to
// src/detect/injection/model.json (committed). Deterministic: same code, same weights; the test
// src/detect/injection/model.test.ts retrains and compares.
//
// Run after `npm run build`:   node scripts/train-injection.mjs [--check]
//   --check   retrain and compare with the committed file instead of writing it (exit 1 on a difference)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildShippedModel } from '../dist/detect/injection/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'detect', 'injection', 'model.json');
const file = await buildShippedModel();
const text = JSON.stringify(file) + '\n';
if (process.argv.includes('--check')) {
  const same = readFileSync(out, 'utf8') === text;
  process.stdout.write(same ? 'model.json matches the training code\n' : 'model.json differs from the training output\n');
  process.exit(same ? 0 : 1);
}
writeFileSync(out, text);
process.stdout.write(`wrote ${out} (${text.length} bytes)\n${JSON.stringify(file.meta)}\n`);
