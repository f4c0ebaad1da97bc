import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateCorpus } from './corpus.js';
import { buildShippedModel } from './train.js';

describe('shipped injection model', () => {
  it('model.json is exactly what the training code produces (retrain: node scripts/train-injection.mjs)', async () => {
    const committed = readFileSync(new URL('./model.json', import.meta.url), 'utf8');
    const file = await buildShippedModel();
    expect(JSON.stringify(file) + '\n').toBe(committed);
    expect(committed.length).toBeLessThan(200_000);
    const held = file.meta.heldOut as { flag: { precision: number; recall: number; fpr: number }; block: { precision: number; fpr: number } };
    // The figures documented in docs/guards.md and bench/README.md.
    expect(held.flag.precision).toBeGreaterThanOrEqual(0.95);
    expect(held.flag.recall).toBeGreaterThanOrEqual(0.93);
    expect(held.flag.fpr).toBeLessThanOrEqual(0.05);
    expect(held.block.fpr).toBeLessThanOrEqual(0.01);
  }, 60_000);

  it('the training and evaluation sets share no text and are deterministic', () => {
    const train = generateCorpus('train');
    const held = generateCorpus('eval');
    const seen = new Set(train.map((e) => e.text));
    expect(held.filter((e) => seen.has(e.text)).length).toBe(0);
    expect(generateCorpus('eval').map((e) => e.text)).toEqual(held.map((e) => e.text));
    // Every attack family and benign category is present in both.
    expect(new Set(held.map((e) => e.family))).toEqual(new Set(train.map((e) => e.family)));
  });
});
