// `--write-clean` / `--quarantine` of a NumPy dataset in its own format: the selected rows (first
// axis) of the input's arrays, byte for byte with the input's dtype. A `.npy` input gives a `.npy`
// with the rows of its matrix (label, id and source columns included, as they were); an `.npz` input
// gives an `.npz` where every array whose first dimension is the row count is cut to the selected
// rows and every other member is copied unchanged. Output arrays are C order (a Fortran-order 2-D
// input is transposed on the way).
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { DatasetFormatError, DatasetOutputUnsupportedError } from './errors.js';
import { readNpyHeader } from './npy.js';
import { npyHeader, zipStored } from './write-npz.js';

/** Bytes per element of a NumPy dtype string, for the dtypes a row copy handles. */
function itemSize(descr: string): number | undefined {
  const m = /^[<>|=]([biufcSUV])(\d+)$/.exec(descr);
  if (m) return m[1] === 'U' ? 4 * Number(m[2]) : Number(m[2]);
  if (/^[<>|=][mM]8(\[\w+\])?$/.test(descr)) return 8;
  return undefined;
}

/** A .npy holding `rows` (0-based, along the first axis) of the .npy in `bytes`. */
export function npyRows(bytes: Uint8Array, name: string, rows: readonly number[]): Buffer {
  const h = readNpyHeader(bytes, name);
  const size = itemSize(h.descr);
  if (size === undefined || h.shape.length === 0) {
    throw new DatasetOutputUnsupportedError(`${name}: cannot copy rows of a ${h.shape.length === 0 ? 'scalar' : `dtype ${h.descr}`} array`, { details: { dtype: h.descr } });
  }
  const n = h.shape[0]!;
  const rest = h.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rest * size;
  if (bytes.length - h.dataOff !== n * rowBytes) throw new DatasetFormatError(`${name}: data length does not match its shape`);
  if (h.fortran && h.shape.length > 2) throw new DatasetOutputUnsupportedError(`${name}: cannot copy rows of a Fortran-order array of ${h.shape.length} dimensions`);
  const body = Buffer.alloc(rows.length * rowBytes);
  const src = Buffer.from(bytes.buffer, bytes.byteOffset + h.dataOff, bytes.length - h.dataOff);
  rows.forEach((r, k) => {
    if (!h.fortran || h.shape.length < 2) {
      src.copy(body, k * rowBytes, r * rowBytes, (r + 1) * rowBytes);
      return;
    }
    // Fortran order: element (r, j) is at (j·n + r)·size.
    for (let j = 0; j < rest; j++) src.copy(body, k * rowBytes + j * size, (j * n + r) * size, (j * n + r + 1) * size);
  });
  return Buffer.concat([npyHeader(h.descr, [rows.length, ...h.shape.slice(1)]), body]);
}

/** The selected rows of a .npy file, as .npy bytes. */
export function npyFileRows(file: string, rows: readonly number[]): Buffer {
  return npyRows(readFileSync(file), file, rows);
}

/** The selected rows of an .npz file (`n` rows), as .npz bytes with the same member names. */
export function npzFileRows(file: string, n: number, rows: readonly number[]): Buffer {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(readFileSync(file));
  } catch (err) {
    throw new DatasetFormatError(`${file} is not a readable .npz archive`, { cause: err });
  }
  const entries = Object.entries(files).map(([member, data]) => {
    if (!member.endsWith('.npy')) return { name: member, data: Buffer.from(data) };
    const h = readNpyHeader(data, `${file}!${member}`);
    if (h.shape.length === 0 || h.shape[0] !== n) return { name: member, data: Buffer.from(data) };
    return { name: member, data: npyRows(data, `${file}!${member}`, rows) };
  });
  return zipStored(entries);
}
