// .npz output of --write-clean/--quarantine for non-text datasets: the archive reads back with the
// dataset reader (rows, features and numeric labels intact) and numpy's header rules hold.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDataset } from './read-dataset.js';
import { npyFloat64, npyUnicode, zipStored } from './write-npz.js';
import { writeSplit } from './write-rows.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-npz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeSplit for NumPy datasets', () => {
  it('writes clean and quarantined rows as .npz archives that read back exactly', async () => {
    const n = 30;
    const d = 4;
    const X = new Float64Array(n * d).map((_, i) => (i % 7) * 0.5 - 1 + Math.floor(i / d));
    const y = Float64Array.from({ length: n }, (_, i) => i % 3);
    const src = path.join(dir, 'in.npz');
    writeFileSync(src, zipStored([{ name: 'X.npy', data: npyFloat64(X, [n, d]) }, { name: 'y.npy', data: npyFloat64(y, [n]) }]));
    const ds = await readDataset(src, { label: 'y' });
    expect([ds.n, ds.d]).toEqual([n, d]);
    const q = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const res = await writeSplit(ds, q, { clean: path.join(dir, 'clean.npz'), quarantine: path.join(dir, 'q.npz') });
    expect(res).toEqual({ clean: 24, quarantined: 6 });
    const back = await readDataset(path.join(dir, 'q.npz'), { label: 'y' });
    expect(back.n).toBe(6);
    expect(Array.from(back.X.subarray(d, 2 * d))).toEqual(Array.from(X.subarray(5 * d, 6 * d)));
    expect(back.labels).toEqual(['0', '2', '1', '0', '2', '1']);
    await expect(writeSplit(ds, q, { clean: path.join(dir, 'clean.csv') })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED' });
  });

  it('writes strings as fixed-width UTF-32 with a 64-byte aligned header', () => {
    const b = npyUnicode(['ok', 'fraude', 'é']);
    const hlen = b.readUInt16LE(8);
    expect((10 + hlen) % 64).toBe(0);
    expect(b.subarray(10, 10 + hlen).toString('latin1')).toContain("'descr': '<U6'");
    expect(b.length - 10 - hlen).toBe(3 * 6 * 4);
    expect(b.readUInt32LE(10 + hlen + 2 * 24)).toBe(0xe9);
  });
});
