// The hashing pool: both strategies give sha256sum's digests for whole files and byte ranges, and
// a read error ends the run with HashReadError (workers are stopped, nothing hangs).
import { createHash } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HashReadError, hashTasks } from './hash-pool.js';
import { tempDir } from './testing/vectors.js';

const t = tempDir('rampart-hashpool-');
afterAll(t.cleanup);
const data = Buffer.alloc(300_000);
for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
const file = path.join(t.dir, 'data.bin');
writeFileSync(file, data);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(['workers', 'streams'] as const)('%s', (strategy) => {
  it('hashes whole files and ranges across chunk boundaries', async () => {
    const r = await hashTasks(
      [
        { path: file, start: 0 },
        { path: file, start: 0, end: 100_000 },
        { path: file, start: 100_000, end: 300_000 },
        { path: file, start: 299_999, end: 300_000 },
      ],
      { strategy, chunkSize: 65_536 },
    );
    expect(r.map((x) => x.digest)).toEqual([sha(data), sha(data.subarray(0, 100_000)), sha(data.subarray(100_000)), sha(data.subarray(299_999))]);
    expect(r.map((x) => x.bytes)).toEqual([300_000, 100_000, 200_000, 1]);
  });

  it('a missing or unreadable file is a HashReadError', async () => {
    await expect(hashTasks([{ path: file, start: 0 }, { path: path.join(t.dir, 'missing'), start: 0 }], { strategy })).rejects.toBeInstanceOf(HashReadError);
    if (process.getuid?.() !== 0) {
      const locked = path.join(t.dir, `locked-${strategy}`);
      writeFileSync(locked, 'x');
      chmodSync(locked, 0);
      await expect(hashTasks([{ path: locked, start: 0 }, { path: file, start: 0 }], { strategy })).rejects.toMatchObject({ errno: 'EACCES' });
    }
  });
});
