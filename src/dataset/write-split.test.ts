// --write-clean / --quarantine for every input format: the output is in the input's format (or the
// documented alternative), holds exactly the selected rows, refuses other names with a coded error
// before writing, and leaves nothing behind when a write fails.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy, readNpyHeader } from './npy.js';
import { readDataset } from './read-dataset.js';
import { npyBytes, npzBytes } from './testing.js';
import { npyUnicode } from './write-npz.js';
import { writeSplit } from './write-rows.js';
import { unzipSync } from 'fflate';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const p = (name: string) => path.join(dir, name);
const file = (name: string, data: string | Uint8Array) => {
  writeFileSync(p(name), data);
  return p(name);
};
/** Rows 1, 4 and 7 quarantined. */
const mask = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 1 : 0));
const raw = { utf8: false, parsers: { timestampFromMilliseconds: (v: bigint) => v, timestampFromMicroseconds: (v: bigint) => v, timestampFromNanoseconds: (v: bigint) => v, dateFromDays: (v: number) => v } };

describe('Parquet datasets', () => {
  const n = 9;
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Array.from({ length: n }, (_, i) => BigInt(1e15) + BigInt(i)), type: 'INT64' },
      { name: 'a', data: Array.from({ length: n }, (_, i) => (i === 2 ? null : i * 1.25)), type: 'DOUBLE' },
      { name: 'city', data: Array.from({ length: n }, (_, i) => ['Lyon', 'Zürich', 'Ōsaka'][i % 3]!), type: 'STRING' },
      { name: 'at', data: Array.from({ length: n }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i))), type: 'TIMESTAMP' },
      { name: 'label', data: Array.from({ length: n }, (_, i) => (i % 2 ? 'spam' : 'ham')), type: 'STRING' },
    ],
  });

  it('writes the clean and quarantined rows as Parquet with every column, type and value of the input', async () => {
    const src = file('in.parquet', new Uint8Array(buf));
    const ds = await readDataset(src, { label: 'label', id: 'id' });
    const res = await writeSplit(ds, mask(n), { clean: p('clean.parquet'), quarantine: p('review.parquet') });
    expect(res).toEqual({ clean: 6, quarantined: 3 });
    const original = await parquetReadObjects({ file: buf, ...raw });
    for (const [name, flag] of [['clean.parquet', 0], ['review.parquet', 1]] as const) {
      const out = readFileSync(p(name));
      const ab = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
      expect(await parquetReadObjects({ file: ab, ...raw })).toEqual(original.filter((_, i) => mask(n)[i] === flag));
      const schemaIn = parquetMetadata(buf).schema.map((e) => [e.name, e.type, e.converted_type, e.logical_type, e.repetition_type]);
      expect(parquetMetadata(ab).schema.map((e) => [e.name, e.type, e.converted_type, e.logical_type, e.repetition_type])).toEqual(schemaIn);
    }
    // and the output scans again
    const back = await readDataset(p('review.parquet'), { label: 'label', id: 'id' });
    expect(back.ids).toEqual(['1000000000000001', '1000000000000004', '1000000000000007']);
    expect(back.labels).toEqual(['spam', 'ham', 'spam']);
  });

  it('writes .npz on request, refuses any other name before writing, and writes an empty side', async () => {
    const src = file('in2.parquet', new Uint8Array(buf));
    const ds = await readDataset(src, { label: 'label' });
    await writeSplit(ds, mask(n), { clean: p('clean2.npz') });
    expect((await readDataset(p('clean2.npz'), { label: 'y' })).labels).toEqual(['ham', 'ham', 'spam', 'spam', 'ham', 'ham']);
    await expect(writeSplit(ds, mask(n), { clean: p('c.parquet'), quarantine: p('q.csv') })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED' });
    expect(existsSync(p('c.parquet'))).toBe(false);
    await writeSplit(ds, new Uint8Array(n), { quarantine: p('none.parquet') });
    const none = readFileSync(p('none.parquet'));
    expect(await parquetReadObjects({ file: none.buffer.slice(none.byteOffset, none.byteOffset + none.byteLength) })).toEqual([]);
  });
});

describe('NumPy datasets', () => {
  it('.npy to .npy: the matrix rows as stored (dtype kept, label column included), Fortran order transposed', async () => {
    // 9 × 3 uint8, column 2 the label; written in Fortran order.
    const C = Array.from({ length: 27 }, (_, k) => (k % 3 === 2 ? Math.floor(k / 3) % 2 : (7 * k) % 251));
    const F = Array.from({ length: 27 }, (_, k) => C[(k % 9) * 3 + Math.floor(k / 9)]!);
    const src = file('m.npy', npyBytes([9, 3], F, '|u1', true));
    const ds = await readDataset(src, { label: '2' });
    await writeSplit(ds, mask(9), { clean: p('m-clean.npy'), quarantine: p('m-q.npy') });
    const q = readFileSync(p('m-q.npy'));
    const h = readNpyHeader(q, 'q');
    expect([h.descr, h.fortran, h.shape]).toEqual(['|u1', false, [3, 3]]);
    expect(Array.from(q.subarray(h.dataOff))).toEqual([...C.slice(3, 6), ...C.slice(12, 15), ...C.slice(21, 24)]);
    expect((await readDataset(p('m-clean.npy'), { label: '2' })).n).toBe(6);
    await expect(writeSplit(ds, mask(9), { clean: p('m.csv') })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED' });
  });

  it('.npz with string labels reads, and .npz to .npz keeps every member, name and dtype', async () => {
    const n = 9;
    const X = Array.from({ length: n * 2 }, (_, k) => k * 0.5);
    const src = file(
      'z.npz',
      npzBytes({
        features: npyBytes([n, 2], X, '<f4'),
        target: npyUnicode(Array.from({ length: n }, (_, i) => (i % 2 ? 'chat' : 'chien'))),
        classes: npyUnicode(['chat', 'chien']),
      }),
    );
    const ds = await readDataset(src, { label: 'target' });
    expect(ds.labels).toEqual(['chien', 'chat', 'chien', 'chat', 'chien', 'chat', 'chien', 'chat', 'chien']);
    await writeSplit(ds, mask(n), { quarantine: p('zq.npz') });
    const members = unzipSync(readFileSync(p('zq.npz')));
    expect(Object.keys(members).sort()).toEqual(['classes.npy', 'features.npy', 'target.npy']);
    const f = parseNpy(members['features.npy']!, 'f');
    expect([f.dtype, f.shape]).toEqual(['<f4', [3, 2]]);
    expect(Array.from(f.data)).toEqual([1, 1.5, 4, 4.5, 7, 7.5]);
    expect(parseNpy(members['target.npy']!, 't').strings).toEqual(['chat', 'chien', 'chat']);
    expect(parseNpy(members['classes.npy']!, 'c').strings).toEqual(['chat', 'chien']);
    expect((await readDataset(p('zq.npz'), { label: 'target' })).n).toBe(3);
    await expect(writeSplit(ds, mask(n), { quarantine: p('zq.npy') })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED' });
  });
});

describe('text datasets', () => {
  const csv = 'a,label\n' + Array.from({ length: 9 }, (_, i) => `${i},${i % 2 ? 'y' : 'x'}`).join('\n') + '\n';

  it('gzip input, .gz output: the rows compressed; plain output: the rows as text; binary names refused', async () => {
    const src = file('t.csv.gz', gzipSync(csv));
    const ds = await readDataset(src, { label: 'label' });
    await writeSplit(ds, mask(9), { clean: p('t-clean.csv.gz'), quarantine: p('t-q.csv') });
    expect(gunzipSync(readFileSync(p('t-clean.csv.gz'))).toString()).toBe('a,label\n0,x\n2,x\n3,y\n5,y\n6,x\n8,x\n');
    expect(readFileSync(p('t-q.csv'), 'utf8')).toBe('a,label\n1,y\n4,x\n7,y\n');
    for (const bad of ['t.parquet', 't.npz', 't.npy']) await expect(writeSplit(ds, mask(9), { clean: p(bad) })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED' });
  });

  it('refuses to overwrite the input or to write both sides to one file', async () => {
    const src = file('u.csv', csv);
    const ds = await readDataset(src, { label: 'label' });
    await expect(writeSplit(ds, mask(9), { clean: src })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    await expect(writeSplit(ds, mask(9), { clean: p('same.csv'), quarantine: p('same.csv') })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    expect(readFileSync(src, 'utf8')).toBe(csv);
  });

  it('a failing target leaves neither file nor temporary file (text and binary)', async () => {
    const src = file('v.csv', csv);
    const ds = await readDataset(src, { label: 'label' });
    await expect(writeSplit(ds, mask(9), { clean: p('v-clean.csv'), quarantine: p('missing-dir/v-q.csv') })).rejects.toThrow();
    const npy = await readDataset(file('w.npy', npyBytes([9, 2], Array.from({ length: 18 }, (_, k) => k % 2))), { label: '1' });
    await expect(writeSplit(npy, mask(9), { clean: p('w-clean.npy'), quarantine: p('missing-dir/w-q.npy') })).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith('v-') || f.startsWith('w-') || f.endsWith('.tmp'))).toEqual([]);
  });
});
