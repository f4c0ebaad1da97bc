// Apache Parquet through hyparquet (pure JavaScript, no native code), run in a worker thread with a
// heap limit and a time limit: the parser is not hardened against hostile files (mutated files can
// make it loop), so a file that takes too long or too much memory is refused instead of hanging the
// scan. The file is read into memory
// and its rows become a Dataset like JSON Lines rows (numbers and booleans numeric, strings strings,
// null missing). Uncompressed and Snappy-compressed column chunks are read; other codecs give
// RAMPART_ERR_DATASET_FORMAT. Rows have no line numbers (binary format); `location.row` still
// identifies them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SchemaElement } from 'hyparquet';
import { isRampartError } from '../core/errors.js';
import { DatasetFormatError } from './errors.js';
import { TableBuilder } from './table-builder.js';
import type { Dataset, ReadOptions } from './types.js';

export async function readParquet(file: string, opts: ReadOptions): Promise<Dataset> {
  const bytes = readFileSync(file);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let rows: Record<string, unknown>[];
  try {
    rows = (await parseInWorker(ab, opts.parquetTimeoutMs ?? 60_000)).rows;
  } catch (err) {
    throw new DatasetFormatError(`cannot read Parquet file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const b = new TableBuilder(opts);
  try {
    for (const row of rows) {
      const canonical = JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      b.beginRow(undefined, undefined, undefined, createHash('sha256').update(canonical).digest());
      for (const [k, v] of Object.entries(row)) {
        const j = b.column(k);
        if (v === null || v === undefined) b.setMissing(j);
        else if (typeof v === 'number') b.setNumber(j, v);
        else if (typeof v === 'bigint') b.setNumber(j, Number(v));
        else if (typeof v === 'boolean') b.setNumber(j, v ? 1 : 0);
        else if (typeof v === 'string') b.setString(j, v);
        else b.setString(j, JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)).slice(0, 200));
      }
      b.endRow();
    }
  } catch (err) {
    if (isRampartError(err)) throw err;
    throw new DatasetFormatError(`cannot read Parquet file ${file}`, { cause: err });
  }
  if (b.n === 0) throw new DatasetFormatError(`${file} holds no rows`);
  return b.finish(file, 'parquet', { gzip: false, hasHeader: false, text: false });
}

// `raw`: for writing the rows back (write-parquet.ts), timestamps, dates and un-annotated byte arrays
// stay as stored (bigint, days, bytes), and the schema comes along.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const raw = workerData.raw
  ? { utf8: false, parsers: { timestampFromMilliseconds: (v) => v, timestampFromMicroseconds: (v) => v, timestampFromNanoseconds: (v) => v, dateFromDays: (v) => v } }
  : {};
import(workerData.url).then(async (m) => {
  const metadata = m.parquetMetadata(workerData.buf, raw);
  const rows = await m.parquetReadObjects({ file: workerData.buf, metadata, ...raw });
  return { rows, schema: workerData.raw ? metadata.schema : undefined };
}).then((r) => parentPort.postMessage(r), (err) => parentPort.postMessage({ error: String(err && err.message || err) }));
`;

/** The rows of a Parquet file as stored, with its schema (parsed in the worker, same limits). */
export async function readParquetRaw(file: string, timeoutMs = 60_000): Promise<{ rows: Record<string, unknown>[]; schema: SchemaElement[] }> {
  const bytes = readFileSync(file);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  try {
    const r = await parseInWorker(ab, timeoutMs, true);
    return { rows: r.rows, schema: r.schema! };
  } catch (err) {
    throw new DatasetFormatError(`cannot read Parquet file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function parseInWorker(buf: ArrayBuffer, timeoutMs: number, raw = false): Promise<{ rows: Record<string, unknown>[]; schema?: SchemaElement[] }> {
  const url = pathToFileURL(createRequire(import.meta.url).resolve('hyparquet')).href;
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { url, buf, raw }, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error(`parsing took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    w.once('message', (m: { rows?: Record<string, unknown>[]; schema?: SchemaElement[]; error?: string }) => {
      clearTimeout(timer);
      void w.terminate();
      if (m.rows) resolve({ rows: m.rows, ...(m.schema ? { schema: m.schema } : {}) });
      else reject(new Error(m.error ?? 'unknown error'));
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    w.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`parser stopped (exit ${code})`));
    });
  });
}
