import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainDigits } from './classifier/server.js';
import { predictProba } from './classifier/model.js';
import { loadSealedWeights, sealWeights } from './encrypted-weights.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-demo-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo weights encrypted at rest', () => {
  it('round-trips the classifier and refuses a tampered file', async () => {
    const { model, test } = trainDigits({ epochs: 2 });
    const { sealed, providers } = await sealWeights(dir, model, 'digits');
    try {
      const bytes = readFileSync(sealed.file);
      expect(bytes.includes(Buffer.from('rampart-dense-model'))).toBe(false);
      const back = await loadSealedWeights(sealed, providers);
      const x = test.x.subarray(0, 64);
      expect(Array.from(predictProba(back, x))).toEqual(Array.from(predictProba(model, x)));

      const flipped = Buffer.from(bytes);
      flipped[flipped.length - 40]! ^= 1;
      writeFileSync(sealed.file, flipped);
      await expect(loadSealedWeights(sealed, providers)).rejects.toMatchObject({ code: expect.stringMatching(/^RAMPART_ERR_CRYPTO_/) as string });
      writeFileSync(sealed.file, bytes);
      await expect(loadSealedWeights({ ...sealed, artifactId: 'other' }, providers)).rejects.toMatchObject({ code: expect.stringMatching(/^RAMPART_ERR_CRYPTO_/) as string });
    } finally {
      await providers.close();
    }
  });
});
