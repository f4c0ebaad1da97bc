// NumPy `.npy` arrays and `.npz` archives of them, as numeric feature matrices. Only numeric dtypes
// (bool, signed/unsigned integers, float16/32/64, either byte order) are read: an object array is a
// pickle that runs code when numpy loads it, which is the model scanner's business (`rampart scan`
// without --label), never something a data reader deserialises. Format: numpy.lib.format (NEP 1).
import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { DatasetColumnUnknownError, DatasetFormatError, DatasetTooLargeError } from './errors.js';
import type { ColumnInfo, Dataset, ReadOptions } from './types.js';

export interface NpyArray {
  shape: number[];
  /** Values in C order (NaN for a string array). */
  data: Float64Array;
  dtype: string;
  /** The values of a 1-D string array (`<U…`, `|S…`), trailing NULs removed. */
  strings?: string[];
}

function parseStrings(bytes: Uint8Array, dv: DataView, name: string, descr: string, little: boolean, kind: 'U' | 'S', width: number, n: number, dataOff: number): NpyArray {
  const size = kind === 'U' ? 4 * width : width;
  if (bytes.length - dataOff !== n * size) throw new DatasetFormatError(`${name}: data length ${bytes.length - dataOff} does not match shape [${n}] × ${size} bytes`);
  const strings = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const p = dataOff + i * size;
    if (kind === 'S') {
      let e = p + size;
      while (e > p && bytes[e - 1] === 0) e--;
      strings[i] = Buffer.from(bytes.buffer, bytes.byteOffset + p, e - p).toString('utf8');
      continue;
    }
    const cps: number[] = [];
    for (let k = 0; k < width; k++) {
      const cp = dv.getUint32(p + 4 * k, little);
      if (cp === 0) break;
      if (cp > 0x10ffff) throw new DatasetFormatError(`${name}: invalid code point in a ${descr} string`);
      cps.push(cp);
    }
    strings[i] = String.fromCodePoint(...cps);
  }
  return { shape: [n], data: new Float64Array(n).fill(NaN), dtype: descr, strings };
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

export function isNpy(b: Uint8Array): boolean {
  return b.length >= 6 && MAGIC.every((m, i) => b[i] === m);
}

export interface NpyHeader {
  descr: string;
  fortran: boolean;
  shape: number[];
  /** Offset of the first data byte. */
  dataOff: number;
}

/** Parses the header of a .npy file (NEP 1, versions 1–3). Throws RAMPART_ERR_DATASET_FORMAT. */
export function readNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (!isNpy(bytes) || bytes.length < 10) throw new DatasetFormatError(`${name} is not a .npy array`);
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let off: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    off = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DatasetFormatError(`${name}: truncated .npy header`);
    hlen = dv.getUint32(8, true);
    off = 12;
  } else throw new DatasetFormatError(`${name}: unsupported .npy version ${major}`);
  if (off + hlen > bytes.length || hlen > 1 << 20) throw new DatasetFormatError(`${name}: truncated .npy header`);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + off, hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(header)) throw new DatasetFormatError(`${name}: structured dtypes are not supported; save a plain numeric matrix`);
    throw new DatasetFormatError(`${name}: .npy header has no dtype`);
  }
  if (fortran === undefined || shapeText === undefined) throw new DatasetFormatError(`${name}: malformed .npy header`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((s) => !Number.isSafeInteger(s) || s < 0)) throw new DatasetFormatError(`${name}: malformed shape`);
  return { descr, fortran: fortran === 'True', shape, dataOff: off + hlen };
}

/**
 * Parses one .npy file held in memory: numeric dtypes as numbers; 1-D fixed-width strings
 * (`<U…` UTF-32, `|S…` bytes, as numpy saves string labels and ids) as `strings`.
 * Throws RAMPART_ERR_DATASET_FORMAT on anything else.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const { descr, fortran: isFortran, shape, dataOff } = readNpyHeader(bytes, name);
  const fortran = isFortran ? 'True' : 'False';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const str = /^([<>|=])([US])(\d+)$/.exec(descr);
  if (str && shape.length === 1) return parseStrings(bytes, dv, name, descr, str[1] !== '>', str[2] as 'U' | 'S', Number(str[3]), shape[0]!, dataOff);
  const m = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  if (!m) {
    const what = descr.includes('O') ? 'object dtype (a pickle: scan it with `rampart scan` without --label)' : `dtype ${descr}`;
    throw new DatasetFormatError(`${name}: ${what} is not a numeric matrix`, { details: { dtype: descr } });
  }
  const little = m[1] !== '>';
  const kind = m[2]!;
  const size = Number(m[3]);
  if (!({ b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8] } as Record<string, number[]>)[kind]!.includes(size)) {
    throw new DatasetFormatError(`${name}: unsupported dtype ${descr}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - dataOff !== count * size) {
    throw new DatasetFormatError(`${name}: data length ${bytes.length - dataOff} does not match shape ${JSON.stringify(shape)} × ${size} bytes`);
  }
  const data = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const p = dataOff + k * size;
    let v: number;
    switch (kind) {
      case 'b':
        v = bytes[p] ? 1 : 0;
        break;
      case 'i':
        v = size === 1 ? dv.getInt8(p) : size === 2 ? dv.getInt16(p, little) : size === 4 ? dv.getInt32(p, little) : Number(dv.getBigInt64(p, little));
        break;
      case 'u':
        v = size === 1 ? bytes[p]! : size === 2 ? dv.getUint16(p, little) : size === 4 ? dv.getUint32(p, little) : Number(dv.getBigUint64(p, little));
        break;
      default:
        v = size === 2 ? half(dv.getUint16(p, little)) : size === 4 ? dv.getFloat32(p, little) : dv.getFloat64(p, little);
    }
    data[k] = v;
  }
  if (fortran === 'True' && shape.length === 2) {
    const [r, c] = shape as [number, number];
    const t = new Float64Array(count);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[i * c + j] = data[j * r + i]!;
    return { shape, data: t, dtype: descr };
  }
  return { shape, data, dtype: descr };
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Reads the arrays of an .npz (a zip of .npy files), refusing members larger than the limit. */
export function parseNpz(bytes: Uint8Array, name: string, maxArrayBytes = 4 * 1024 ** 3): Map<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (f.originalSize > maxArrayBytes) throw new DatasetTooLargeError(`${name}!${f.name} is larger than ${maxArrayBytes} bytes`);
        return f.name.endsWith('.npy');
      },
    });
  } catch (err) {
    if (err instanceof DatasetTooLargeError) throw err;
    throw new DatasetFormatError(`${name} is not a readable .npz archive`, { cause: err });
  }
  const out = new Map<string, NpyArray>();
  for (const [k, v] of Object.entries(files)) out.set(k.replace(/\.npy$/, ''), parseNpy(v, `${name}!${k}`));
  return out;
}

/**
 * A Dataset from a feature matrix. For .npy, `--label`/`--id`/`--source` name 0-based columns of the
 * matrix; for .npz they name 1-D arrays (or columns of the matrix), and the matrix is the array `X`
 * (else the first 2-D array).
 */
export function datasetFromArrays(arrays: Map<string, NpyArray>, file: string, format: 'npy' | 'npz', opts: ReadOptions): Dataset {
  let matrix: NpyArray | undefined = arrays.get('X') ?? arrays.get('x');
  if (!matrix) for (const a of arrays.values()) if (a.shape.length === 2) { matrix = a; break; }
  if (matrix?.strings) throw new DatasetFormatError(`${file}: the feature matrix holds strings, not numbers`);
  if (!matrix) {
    const one = [...arrays.values()].find((a) => !a.strings);
    if (one && one.shape.length === 1) matrix = { shape: [one.shape[0]!, 1], data: one.data, dtype: one.dtype };
  }
  if (!matrix || matrix.shape.length !== 2) throw new DatasetFormatError(`${file} holds no 2-D numeric matrix`);
  const [n, m] = matrix.shape as [number, number];
  const special = new Map<string, string[]>();
  const fromMatrix = new Set<number>();
  for (const key of [opts.label, opts.id, opts.source]) {
    if (key === undefined) continue;
    const arr = format === 'npz' ? arrays.get(key) : undefined;
    if (arr) {
      if (arr.shape.length !== 1 || arr.shape[0] !== n) throw new DatasetFormatError(`${file}: array ${key} must be 1-D with ${n} entries`);
      special.set(key, arr.strings ?? Array.from(arr.data, numText));
      continue;
    }
    const col = /^\d+$/.test(key) ? Number(key) : -1;
    if (col < 0 || col >= m) throw new DatasetColumnUnknownError(`column "${key}" does not exist (a .npy matrix has columns 0..${m - 1})`, { details: { column: key } });
    fromMatrix.add(col);
    special.set(key, Array.from({ length: n }, (_, i) => numText(matrix.data[i * m + col]!)));
  }
  const featCols = Array.from({ length: m }, (_, j) => j).filter((j) => !fromMatrix.has(j));
  const d = featCols.length;
  const X = new Float64Array(n * d);
  const rowHashes: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) X[i * d + k] = matrix.data[i * m + featCols[k]!]!;
    const row = matrix.data.subarray(i * m, (i + 1) * m);
    rowHashes[i] = createHash('sha256').update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength)).digest('hex').slice(0, 32);
  }
  const columns: ColumnInfo[] = Array.from({ length: m }, (_, j) => {
    let missing = 0;
    for (let i = 0; i < n; i++) if (Number.isNaN(matrix.data[i * m + j]!)) missing++;
    return { name: String(j), kind: 'numeric' as const, missing, nonNumeric: 0, samples: [] };
  });
  const ds: Dataset = {
    file,
    format,
    columns,
    featureNames: featCols.map(String),
    n,
    d,
    X,
    gzip: false,
    hasHeader: false,
    rowHashes,
    malformedRows: [],
    typeErrors: [],
  };
  if (opts.label !== undefined) ds.labels = special.get(opts.label)!;
  if (opts.id !== undefined) ds.ids = special.get(opts.id)!;
  if (opts.source !== undefined) ds.sources = special.get(opts.source)!;
  return ds;
}

function numText(v: number): string {
  return String(v);
}
