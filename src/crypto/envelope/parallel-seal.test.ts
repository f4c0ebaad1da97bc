import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKeyring, seededBytes, tempDir } from '../testing/fixtures.js';
import { FileByteReader } from './byte-reader.js';
import { sealingStateFrom, sealSegments, type SealingState } from './envelope.js';
import { decryptFile, encryptFile } from './file.js';
import { sealSegmentsParallel } from './parallel-seal.js';

function state(segmentSize: number): SealingState {
  return sealingStateFrom({
    dataKey: Buffer.alloc(32, 7),
    wrappedKey: Buffer.alloc(60, 1),
    provider: 'local',
    keyRef: 'k',
    keyVersion: '1',
    salt: Buffer.alloc(32, 2),
    noncePrefix: Buffer.alloc(7, 3),
    segmentSize,
    aad: Buffer.alloc(0),
  });
}

async function collect(gen: AsyncIterable<Buffer[]>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(...b);
  return Buffer.concat(parts);
}

describe('sealing on worker threads', () => {
  it('produces exactly the serial output (empty, short, block multiples, many blocks)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const seg = 16384;
      const block = Math.floor((1024 * 1024) / seg) * seg;
      for (const size of [0, 1, block, 3 * block + 12345]) {
        const path = join(dir, `in-${size}`);
        await writeFile(path, seededBytes(`p${size}`, size));
        const fh = await open(path, 'r');
        try {
          const serial = await collect(sealSegments(new FileByteReader(fh), state(seg)));
          const parallel = await collect(sealSegmentsParallel(fh, state(seg), 2));
          expect(parallel.equals(serial), `size ${size}`).toBe(true);
        } finally {
          await fh.close();
        }
      }
    } finally {
      await cleanup();
    }
  });

  it('encryptFile with jobs > 1 round trips a file larger than the parallel threshold', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const kr = await makeKeyring(dir);
      const data = seededBytes('par', 9 * 1024 * 1024 + 77);
      await writeFile(join(dir, 'a.bin'), data);
      await encryptFile(join(dir, 'a.bin'), join(dir, 'a.enc'), { key: 'local:test-kek', providers: kr.providers, jobs: 2 });
      await decryptFile(join(dir, 'a.enc'), join(dir, 'b.bin'), { providers: kr.providers });
      expect((await readFile(join(dir, 'b.bin'))).equals(data)).toBe(true);
      await kr.providers.close();
    } finally {
      await cleanup();
    }
  });
});
