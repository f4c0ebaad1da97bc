import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isRampartError } from '../core/errors.js';
import { readCsv } from './csv.js';
import { readDataset, readEmbeddings } from './read-dataset.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { npyBytes, npzBytes, rng } from './testing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-ds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Uint8Array) => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};

async function* chunks(s: string, size: number): AsyncGenerator<Uint8Array> {
  const b = Buffer.from(s);
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const CSV = 'a,b,label,note\r\n1,2.5,x,plain\r\n3,-4e1,y,"multi\nline, with ""quotes"""\r\n\r\n5,abc,x,z\r\n6,7,y\r\n';

describe('CSV reader', () => {
  it('reads RFC 4180 records with header, lines, spans, type errors and short rows', async () => {
    const ds = await readCsv(chunks(CSV, 1 << 20), 'm.csv', { label: 'label' });
    expect(ds.hasHeader).toBe(true);
    expect(ds.n).toBe(4);
    expect(ds.featureNames).toEqual(['a', 'b']);
    expect(Array.from(ds.X)).toEqual([1, 2.5, 3, -40, 5, NaN, 6, 7]);
    expect(ds.labels).toEqual(['x', 'y', 'x', 'y']);
    expect(Array.from(ds.lines!)).toEqual([2, 3, 6, 7]);
    expect(ds.typeErrors).toEqual([{ row: 2, column: 'b', value: 'abc' }]);
    expect(ds.malformedRows).toEqual([{ row: 3, fields: 3, expected: 4 }]);
    expect(ds.columns.find((c) => c.name === 'note')!.kind).toBe('string');
    const b = Buffer.from(CSV);
    expect(b.subarray(ds.spans![2], ds.spans![3]).toString()).toBe('3,-4e1,y,"multi\nline, with ""quotes"""');
  });
  it('gives the same result whatever the chunk size (records across chunk boundaries)', async () => {
    const whole = await readCsv(chunks(CSV, 1 << 20), 'm.csv', { label: 'label' });
    for (const size of [1, 2, 3, 7]) {
      const ds = await readCsv(chunks(CSV, size), 'm.csv', { label: 'label' });
      expect(Array.from(ds.X)).toEqual(Array.from(whole.X));
      expect(Array.from(ds.lines!)).toEqual(Array.from(whole.lines!));
      expect(Array.from(ds.spans!)).toEqual(Array.from(whole.spans!));
      expect(ds.rowHashes).toEqual(whole.rowHashes);
    }
  });
  it('detects a headerless file and names columns by index', async () => {
    const ds = await readCsv(chunks('1,2,0\n3,4,1\n', 4), 'h.csv', { label: '2' });
    expect(ds.hasHeader).toBe(false);
    expect(ds.featureNames).toEqual(['0', '1']);
    expect(ds.labels).toEqual(['0', '1']);
    expect(Array.from(ds.lines!)).toEqual([1, 2]);
  });
  it('refuses an unknown --label column with a coded error', async () => {
    await expect(readCsv(chunks('a,b\n1,2\n', 8), 'u.csv', { label: 'nope' })).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_COLUMN_UNKNOWN' });
  });
  it('reads gzip-compressed CSV by content', async () => {
    const p = file('g.bin', gzipSync(Buffer.from('x,y\n1,2\n3,4\n')));
    const ds = await readDataset(p, { label: 'y' });
    expect(ds.gzip).toBe(true);
    expect(Array.from(ds.X)).toEqual([1, 3]);
  });
});

describe('JSON Lines reader', () => {
  it('reads objects, expands arrays, marks malformed lines and keeps lines', async () => {
    const p = file('d.jsonl', '{"v":[1,2],"y":"a","s":"s1"}\n\n{"v":[3,4],"y":"b","s":"s2"}\nnot json\n{"v":[5,"q"],"y":"a","s":"s1"}\n');
    const ds = await readDataset(p, { label: 'y', source: 's' });
    expect(ds.format).toBe('jsonl');
    expect(ds.featureNames).toEqual(['v[0]', 'v[1]']);
    expect(ds.n).toBe(4);
    expect(Array.from(ds.lines!)).toEqual([1, 3, 4, 5]);
    expect(ds.malformedRows.map((m) => m.row)).toEqual([2]);
    expect(ds.typeErrors).toEqual([{ row: 3, column: 'v[1]', value: 'q' }]);
    expect(ds.sources).toEqual(['s1', 's2', '', 's1']);
  });
});

describe('NumPy reader', () => {
  it('reads .npy of several dtypes, both byte orders and Fortran order', async () => {
    const vals = [1, 2, 3, 4, 5, 6];
    for (const descr of ['<f8', '>f8', '<f4', '<i8', '<i4', '|u1']) {
      const ds = await readDataset(file(`m${descr.replace(/[<>|]/, '')}${descr[0] === '>' ? 'be' : ''}.npy`, npyBytes([3, 2], vals, descr)), { label: '1' });
      expect(Array.from(ds.X), descr).toEqual([1, 3, 5]);
      expect(ds.labels, descr).toEqual(['2', '4', '6']);
    }
    const f = await readDataset(file('f.npy', npyBytes([2, 3], [1, 4, 2, 5, 3, 6], '<f8', true)));
    expect(Array.from(f.X)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('refuses object arrays (pickles) with RAMPART_ERR_DATASET_FORMAT', async () => {
    const b = npyBytes([2], [0, 0], '|O');
    await expect(readDataset(file('o.npy', b))).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_FORMAT' });
  });
  it('reads .npz with X and y arrays, and embeddings with a row-count check', async () => {
    const p = file('d.npz', npzBytes({ X: npyBytes([2, 2], [1, 2, 3, 4]), y: npyBytes([2], [0, 1], '<i8') }));
    const ds = await readDataset(p, { label: 'y' });
    expect(ds.format).toBe('npz');
    expect(Array.from(ds.X)).toEqual([1, 2, 3, 4]);
    expect(ds.labels).toEqual(['0', '1']);
    const e = file('e.npy', npyBytes([2, 3], [1, 2, 3, 4, 5, 6]));
    expect((await readEmbeddings(e, 2)).k).toBe(3);
    await expect(readEmbeddings(e, 3)).rejects.toMatchObject({ code: 'RAMPART_ERR_DATASET_EMBEDDINGS_MISMATCH' });
  });
});

describe('Parquet reader', () => {
  it('reads numeric and string columns', async () => {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'a', data: [1.5, 2.5, null], type: 'DOUBLE' },
        { name: 'b', data: [3, 4, 5], type: 'INT32' },
        { name: 'label', data: ['x', 'y', 'x'], type: 'STRING' },
      ],
    });
    const ds = await readDataset(file('d.parquet', new Uint8Array(buf)), { label: 'label' });
    expect(ds.format).toBe('parquet');
    expect(ds.featureNames).toEqual(['a', 'b']);
    expect(Array.from(ds.X)).toEqual([1.5, 3, 2.5, 4, NaN, 5]);
    expect(ds.labels).toEqual(['x', 'y', 'x']);
    expect(ds.lines).toBeUndefined();
    const broken = new Uint8Array(buf).slice();
    broken.fill(7, 8, Math.min(broken.length - 8, 200));
    await readDataset(file('b.parquet', broken)).catch((err: unknown) => expect(isRampartError(err)).toBe(true));
  });
});

describe('readers on mutated input (fuzz)', () => {
  it('never crash or hang: a dataset or a coded error', async () => {
    const r = rng(7);
    const pq = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'a', data: [1, 2, 3], type: 'DOUBLE' }, { name: 'y', data: ['p', 'q', 'p'], type: 'STRING' }] }));
    const seeds = [pq, Buffer.from(CSV), npyBytes([3, 2], [1, 2, 3, 4, 5, 6]), npzBytes({ X: npyBytes([2, 2], [1, 2, 3, 4]) }), Buffer.from('{"a":1,"y":"q"}\n{"a":2,"y":"r"}\n')];
    for (let t = 0; t < 150; t++) {
      const base = Uint8Array.from(seeds[t % seeds.length]!);
      const edits = 1 + Math.floor(r() * 4);
      for (let k = 0; k < edits; k++) base[Math.floor(r() * base.length)] = Math.floor(r() * 256);
      const cut = r() < 0.3 ? base.subarray(0, Math.floor(r() * base.length)) : base;
      const p = file(`fz${t}`, cut);
      try {
        await readDataset(p, { parquetTimeoutMs: 2000 });
      } catch (err) {
        expect(isRampartError(err), String(err)).toBe(true);
      }
    }
  });
});
