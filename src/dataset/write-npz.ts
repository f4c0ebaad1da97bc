// `--write-clean` / `--quarantine` for datasets that are not text (NumPy `.npy`/`.npz`, Parquet):
// the selected rows are written as a NumPy `.npz` archive (zip, stored, no compression) holding
// `X` (float64, rows × features, C order, NaN for missing values), and, when the scan had them,
// `y` (labels), `ids` and `sources`: float64 when every value is a number, else fixed-width unicode
// (`<U{width}`). Readable with
// `numpy.load(path)`; also by `rampart scan --label y`. write-rows.ts writes the files.
import { crc32 } from 'node:zlib';
import type { Dataset } from './types.js';

/** A version 1.0 .npy header for a C-order array. */
export function npyHeader(descr: string, shape: number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Magic (6) + version (2) + header length (2) + dict + padding + '\n', total a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const pad = (64 - (unpadded % 64)) % 64;
  const text = dict + ' '.repeat(pad) + '\n';
  const h = Buffer.alloc(10 + text.length);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(text.length, 8);
  h.write(text, 10, 'latin1');
  return h;
}

/** A .npy file of float64 rows. */
export function npyFloat64(values: Float64Array, shape: number[]): Buffer {
  const body = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) body.writeDoubleLE(values[i]!, i * 8);
  return Buffer.concat([npyHeader('<f8', shape), body]);
}

/** A .npy file of strings as fixed-width UTF-32 (`<U{width}`). */
export function npyUnicode(values: readonly string[]): Buffer {
  const cps = values.map((s) => Array.from(s, (ch) => ch.codePointAt(0)!));
  const width = Math.max(1, ...cps.map((c) => c.length));
  const body = Buffer.alloc(values.length * width * 4);
  cps.forEach((c, i) => c.forEach((cp, k) => body.writeUInt32LE(cp, (i * width + k) * 4)));
  return Buffer.concat([npyHeader(`<U${width}`, [values.length]), body]);
}

/** A zip archive with stored (uncompressed) entries, as numpy.savez writes. */
export function zipStored(entries: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    if (e.data.length > 0xfffffffe || offset > 0xfffffffe) throw new RangeError('npz output above 4 GiB is not supported');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time/date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.data.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    parts.push(local, name, e.data);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/** The .npz bytes of the rows where `pick[i]` is 1. */
export function npzOfRows(ds: Dataset, pick: (i: number) => boolean): Buffer {
  const rows: number[] = [];
  for (let i = 0; i < ds.n; i++) if (pick(i)) rows.push(i);
  const X = new Float64Array(rows.length * ds.d);
  rows.forEach((r, k) => X.set(ds.X.subarray(r * ds.d, (r + 1) * ds.d), k * ds.d));
  const entries = [{ name: 'X.npy', data: npyFloat64(X, [rows.length, ds.d]) }];
  // Numeric strings (every value a finite number) stay numbers, so the archive reads back with --label y.
  const strings = (vals: string[]) => (vals.every((v) => v.trim() !== '' && Number.isFinite(Number(v))) ? npyFloat64(Float64Array.from(vals, Number), [vals.length]) : npyUnicode(vals));
  if (ds.labels) entries.push({ name: 'y.npy', data: strings(rows.map((r) => ds.labels![r]!)) });
  if (ds.ids) entries.push({ name: 'ids.npy', data: strings(rows.map((r) => ds.ids![r]!)) });
  if (ds.sources) entries.push({ name: 'sources.npy', data: strings(rows.map((r) => ds.sources![r]!)) });
  return zipStored(entries);
}
