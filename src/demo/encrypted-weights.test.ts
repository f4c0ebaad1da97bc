import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFifo } from '../../test/helpers/fifo.js';
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

  it('writes the weights through a symbolic link (link kept) and refuses a passphrase file that is a FIFO', async () => {
    const { model } = trainDigits({ epochs: 1 });
    const linked = join(dir, 'linked');
    mkdirSync(join(linked, 'models'), { recursive: true });
    const elsewhere = join(dir, 'weights-elsewhere.enc');
    writeFileSync(elsewhere, 'old');
    symlinkSync(elsewhere, join(linked, 'models', 'digits.weights.json.enc'));
    const { sealed, providers } = await sealWeights(linked, model, 'digits');
    try {
      expect(lstatSync(sealed.file).isSymbolicLink()).toBe(true);
      expect((await loadSealedWeights({ ...sealed, file: elsewhere }, providers)).layers.length).toBeGreaterThan(0);
    } finally {
      await providers.close();
    }
    expect(readdirSync(join(linked, 'models'))).toEqual(['digits.weights.json.enc']);

    const piped = join(dir, 'piped');
    mkdirSync(join(piped, 'keys'), { recursive: true });
    const fifo = makeFifo(join(piped, 'keys'), 'passphrase');
    if (!fifo) return;
    // No reader: writing the passphrase into the FIFO would hang; it is refused instead.
    await expect(sealWeights(piped, model, 'digits')).rejects.toMatchObject({ code: 'RAMPART_ERR_OUTPUT_NOT_REGULAR' });
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});
