// JSON Lines: one JSON object per line. Numbers (and booleans, as 0/1) are numeric values; arrays of
// numbers expand into `key[0]`, `key[1]`, ...; nested objects into `key.sub`; null is missing; a
// string in a numeric column is a type error. A line that is not a JSON object is a malformed row.
import type { Readable } from 'node:stream';
import { isRampartError } from '../core/errors.js';
import { DatasetFormatError, DatasetTooLargeError } from './errors.js';
import { TableBuilder } from './table-builder.js';
import type { Dataset, ReadOptions } from './types.js';

const LF = 0x0a;

export async function readJsonl(stream: Readable | AsyncIterable<Uint8Array>, file: string, opts: ReadOptions, gzip = false): Promise<Dataset> {
  const b = new TableBuilder(opts);
  const max = opts.maxRecordBytes ?? 16 * 1024 * 1024;
  let pending: Uint8Array = new Uint8Array(0);
  let base = 0;
  let line = 1;
  const onLine = (buf: Uint8Array, s: number, e: number) => {
    let end = e;
    if (end > s && buf[end - 1] === 0x0d) end--;
    const raw = buf.subarray(s, end);
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8');
    if (text.trim() === '') return;
    b.beginRow(line, base + s, base + end, raw);
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      obj = undefined;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      b.malformedRows.push({ row: b.n, fields: 0, expected: b.columnCount });
    } else {
      let count = 0;
      const put = (key: string, v: unknown, depth: number) => {
        if (Array.isArray(v) && depth < 4) {
          v.forEach((x, k) => put(`${key}[${k}]`, x, depth + 1));
          return;
        }
        if (v !== null && typeof v === 'object' && depth < 4) {
          for (const [k, x] of Object.entries(v)) put(`${key}.${k}`, x, depth + 1);
          return;
        }
        const j = b.column(key);
        count++;
        if (v === null || v === undefined) b.setMissing(j);
        else if (typeof v === 'number') b.setNumber(j, v);
        else if (typeof v === 'boolean') b.setNumber(j, v ? 1 : 0);
        else if (b.isStringColumn(j)) b.setString(j, typeof v === 'string' ? v : JSON.stringify(v));
        else b.setString(j, typeof v === 'string' ? v : JSON.stringify(v));
      };
      for (const [k, v] of Object.entries(obj)) put(k, v, 0);
      if (count === 0) b.malformedRows.push({ row: b.n, fields: 0, expected: b.columnCount });
    }
    b.endRow();
    if (opts.onChunk && b.n >= (opts.chunkRows ?? Infinity)) {
      opts.onChunk(b.takeChunk(file, 'jsonl', { gzip, hasHeader: false, text: true }));
      chunks++;
    }
  };
  let chunks = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let p = 0;
      for (let i = buf.indexOf(LF, p); i !== -1; i = buf.indexOf(LF, p)) {
        onLine(buf, p, i);
        line++;
        p = i + 1;
      }
      pending = buf.subarray(p);
      base += p;
      if (pending.length > max) throw new DatasetTooLargeError(`a JSON Lines record at line ${line} is larger than ${max} bytes`, { details: { line } });
    }
    if (pending.length) onLine(pending, 0, pending.length);
  } catch (err) {
    if (isRampartError(err)) throw err;
    throw new DatasetFormatError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (b.n === 0 && chunks === 0) throw new DatasetFormatError(`${file} holds no JSON Lines records`);
  const last = b.finish(file, 'jsonl', { gzip, hasHeader: false, text: true });
  if (opts.onChunk && (last.n > 0 || chunks === 0)) opts.onChunk(last);
  return last;
}
