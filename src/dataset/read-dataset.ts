// Opens a dataset file and picks its reader by content (never by extension alone): NumPy magic,
// zip (.npz), Parquet magic (hyparquet), a JSON object on the first line (JSON Lines), else CSV. Gzip-compressed
// text is decompressed as a stream. Also reads the optional embeddings file (one vector per row).
import { createReadStream, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { FileNotFoundError } from '../core/errors.js';
import { readCsv } from './csv.js';
import { DatasetEmbeddingsMismatchError, DatasetFormatError } from './errors.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import { datasetFromArrays, isNpy, parseNpy, parseNpz } from './npy.js';
import type { Dataset, DatasetFormat, ReadOptions } from './types.js';

const CHUNK = 1 << 20;

function head(file: string, n: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new FileNotFoundError(`cannot open ${file}`, { cause: err, details: { file } });
  }
  try {
    const b = new Uint8Array(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

async function* withFirst(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

function textFormat(h: Uint8Array): 'jsonl' | 'csv' {
  for (const c of h) {
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xef || c === 0xbb || c === 0xbf) continue;
    return c === 0x7b ? 'jsonl' : 'csv';
  }
  return 'csv';
}

/** The format a file holds, by content. */
export function sniffFormat(h: Uint8Array): DatasetFormat | 'gzip' {
  if (h[0] === 0x1f && h[1] === 0x8b) return 'gzip';
  if (isNpy(h)) return 'npy';
  if (h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04) return 'npz';
  if (h[0] === 0x50 && h[1] === 0x41 && h[2] === 0x52 && h[3] === 0x31) return 'parquet';
  return textFormat(h);
}

/** The format of a dataset file by its first bytes (`gzip`: compressed CSV or JSON Lines). */
export function sniffFileFormat(file: string): DatasetFormat | 'gzip' {
  return sniffFormat(head(file, 4096));
}

/** Reads a dataset file (CSV, JSON Lines, optionally gzip-compressed; .npy; .npz). */
export async function readDataset(file: string, opts: ReadOptions = {}): Promise<Dataset> {
  const h = head(file, 4096);
  const fmt = sniffFormat(h);
  if (fmt === 'npy') return datasetFromArrays(new Map([['X', parseNpy(readFileSync(file), file)]]), file, 'npy', opts);
  if (fmt === 'npz') {
    if (statSync(file).size > (opts.maxArrayBytes ?? 4 * 1024 ** 3)) throw new DatasetFormatError(`${file} is too large to read`);
    return datasetFromArrays(parseNpz(readFileSync(file), file, opts.maxArrayBytes), file, 'npz', opts);
  }
  if (fmt === 'parquet') return readParquet(file, opts);
  if (fmt === 'gzip') {
    const stream = createReadStream(file, { highWaterMark: CHUNK }).pipe(createGunzip({ chunkSize: CHUNK }));
    stream.on('error', () => undefined); // surfaced by the iterator below
    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    let first: IteratorResult<Uint8Array>;
    try {
      first = await it.next();
    } catch (err) {
      throw new DatasetFormatError(`${file}: corrupt gzip stream`, { cause: err });
    }
    if (first.done) throw new DatasetFormatError(`${file} is empty`);
    const inner = sniffFormat(first.value);
    const src = withFirst(first.value, it);
    if (inner === 'jsonl') return readJsonl(src, file, opts, true);
    if (inner === 'csv') return readCsv(src, file, opts, true);
    throw new DatasetFormatError(`${file}: gzip-compressed ${inner} is not supported; decompress it first`);
  }
  const stream = createReadStream(file, { highWaterMark: CHUNK });
  return fmt === 'jsonl' ? readJsonl(stream, file, opts) : readCsv(stream, file, opts);
}

/** Reads an embeddings file (.npy matrix or numeric CSV) and checks it has one vector per row. */
export async function readEmbeddings(file: string, rows: number): Promise<{ E: Float64Array; k: number }> {
  const ds = await readDataset(file, {});
  if (ds.n !== rows) {
    throw new DatasetEmbeddingsMismatchError(`${file} has ${ds.n} vectors for ${rows} dataset rows`, { details: { vectors: ds.n, rows } });
  }
  if (ds.d === 0 || ds.typeErrors.length > 0 || ds.malformedRows.length > 0) {
    throw new DatasetEmbeddingsMismatchError(`${file} is not a numeric matrix`, { details: { file } });
  }
  for (let i = 0; i < ds.X.length; i++) {
    if (!Number.isFinite(ds.X[i])) throw new DatasetEmbeddingsMismatchError(`${file} holds a missing or non-finite value in row ${Math.floor(i / ds.d)}`);
  }
  return { E: ds.X, k: ds.d };
}
