// Keeps the test vectors printed in docs/encryption.md true: recomputes each one from its inputs
// and decrypts the documented ciphertext. Print fresh blocks with RAMPART_PRINT_VECTORS=1.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeVector, renderVector, VECTOR_INPUTS } from '../testing/vectors.js';
import { IterableByteReader } from './byte-reader.js';
import { openingStateWithKey, openSegments } from './envelope.js';
import { parseHeaderBytes, readHeader } from './format.js';

const doc = readFileSync(new URL('../../../docs/encryption.md', import.meta.url), 'utf8');

function docBlock(name: string): string {
  const m = new RegExp('```text\\n(vector: ' + name + '\\n[\\s\\S]*?)\\n```').exec(doc);
  if (!m) throw new Error(`vector ${name} not found in docs/encryption.md`);
  return m[1]!;
}

describe('envelope test vectors (docs/encryption.md)', () => {
  if (process.env.RAMPART_PRINT_VECTORS) {
    it('prints', async () => {
      for (const v of VECTOR_INPUTS) process.stdout.write(`\`\`\`text\n${await renderVector(v)}\n\`\`\`\n\n`);
    });
  }

  for (const v of VECTOR_INPUTS) {
    it(`vector ${v.name} in the docs matches the implementation`, async () => {
      expect(docBlock(v.name)).toBe(await renderVector(v));
    });

    it(`vector ${v.name} decrypts to its plaintext with the documented data key`, async () => {
      const o = await computeVector(v);
      const ct = Buffer.from(o.ciphertext, 'hex');
      const reader = new IterableByteReader([ct]);
      const header = await readHeader(
        (n) => reader.read(n),
        () => new Error('short'),
      );
      expect(header.raw.equals((await parseHeaderBytes(ct)).raw)).toBe(true);
      const state = openingStateWithKey(header, v.dataKey, { artifactId: v.artifactId });
      const parts: Buffer[] = [];
      for await (const bufs of openSegments(reader, state)) parts.push(...bufs);
      expect(Buffer.concat(parts).equals(v.plaintext)).toBe(true);
    });
  }
});
