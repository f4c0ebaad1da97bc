// RFC 4180 CSV, read as a stream of byte chunks: quoted fields with doubled quotes, CRLF or LF line
// ends, line breaks inside quoted fields. The tokenizer works on bytes (comma, quote, CR and LF are
// ASCII, so UTF-8 text splits safely), keeps only the unfinished record between chunks, and reports
// each record's first line and byte span so findings point at lines and rows can be copied verbatim.
import type { Readable } from 'node:stream';
import { isRampartError } from '../core/errors.js';
import { DatasetFormatError, DatasetTooLargeError } from './errors.js';
import { parseNumberBytes } from './parse-number.js';
import { TableBuilder } from './table-builder.js';
import type { Dataset, ReadOptions } from './types.js';

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

export interface CsvRecord {
  buf: Uint8Array;
  /** Field k spans buf[starts[k], ends[k]); `escaped[k]` when it holds doubled quotes. */
  starts: number[];
  ends: number[];
  escaped: boolean[];
  count: number;
  /** 1-based line of the record's first byte. */
  line: number;
  /** Absolute byte offsets of the record (without its line break). */
  start: number;
  end: number;
  /** The record's bytes are buf[bufStart, bufEnd). */
  bufStart: number;
  bufEnd: number;
  /** A quote in the middle of an unquoted field or text after a closing quote. */
  malformed: boolean;
}

/** Splits a byte stream into CSV records. */
export class CsvTokenizer {
  private pending: Uint8Array = new Uint8Array(0);
  private base = 0;
  private line = 1;
  private readonly rec: CsvRecord = { buf: new Uint8Array(0), starts: [], ends: [], escaped: [], count: 0, line: 1, start: 0, end: 0, bufStart: 0, bufEnd: 0, malformed: false };

  constructor(private readonly maxRecordBytes = 16 * 1024 * 1024) {}

  feed(chunk: Uint8Array, onRecord: (r: CsvRecord) => void): void {
    const buf = this.pending.length ? concat(this.pending, chunk) : chunk;
    const used = this.parse(buf, false, onRecord);
    this.pending = buf.subarray(used);
    this.base += used;
    if (this.pending.length > this.maxRecordBytes) {
      throw new DatasetTooLargeError(`a CSV record starting at line ${this.line} is larger than ${this.maxRecordBytes} bytes (an unterminated quote?)`, {
        details: { line: this.line },
      });
    }
  }

  end(onRecord: (r: CsvRecord) => void): void {
    if (this.pending.length) this.parse(this.pending, true, onRecord);
    this.pending = new Uint8Array(0);
  }

  /** Parses whole records from buf; returns the number of bytes consumed. */
  private parse(buf: Uint8Array, final: boolean, onRecord: (r: CsvRecord) => void): number {
    const len = buf.length;
    let p = 0;
    const r = this.rec;
    r.buf = buf;
    while (p < len) {
      // Blank lines are not records (they are counted as lines).
      if (buf[p] === LF) {
        p++;
        this.line++;
        continue;
      }
      if (buf[p] === CR) {
        if (p + 1 >= len && !final) break;
        p += buf[p + 1] === LF ? 2 : 1;
        this.line++;
        continue;
      }
      let i = p;
      let nf = 0;
      let innerLines = 0;
      let malformed = false;
      let complete = false;
      let recEnd = 0;
      let next = 0;
      for (;;) {
        let s: number;
        let e: number;
        let esc = false;
        if (buf[i] === QUOTE) {
          i++;
          s = i;
          let closed = false;
          while (i < len) {
            const c = buf[i]!;
            if (c === QUOTE) {
              if (i + 1 < len && buf[i + 1] === QUOTE) {
                esc = true;
                i += 2;
                continue;
              }
              if (i + 1 >= len && !final) break; // might be the first of a doubled quote
              closed = true;
              break;
            }
            if (c === LF) innerLines++;
            i++;
          }
          if (!closed) {
            if (!final) break;
            malformed = true; // unterminated quote at end of file
            e = len;
          } else {
            e = i;
            i++;
          }
          // Text between the closing quote and the delimiter is a format error; keep it out.
          while (i < len && buf[i] !== COMMA && buf[i] !== LF && buf[i] !== CR) {
            malformed = true;
            i++;
          }
        } else {
          s = i;
          while (i < len) {
            const c = buf[i]!;
            if (c === COMMA || c === LF || c === CR) break;
            if (c === QUOTE) malformed = true;
            i++;
          }
          e = i;
        }
        r.starts[nf] = s;
        r.ends[nf] = e;
        r.escaped[nf] = esc;
        nf++;
        if (i >= len) {
          if (!final) break;
          complete = true;
          recEnd = len;
          next = len;
          break;
        }
        const c = buf[i]!;
        if (c === COMMA) {
          i++;
          if (i >= len) {
            if (!final) break;
            r.starts[nf] = len;
            r.ends[nf] = len;
            r.escaped[nf] = false;
            nf++;
            complete = true;
            recEnd = len;
            next = len;
            break;
          }
          continue;
        }
        if (c === LF) {
          complete = true;
          recEnd = i;
          next = i + 1;
          break;
        }
        // CR
        if (i + 1 >= len && !final) break;
        complete = true;
        recEnd = i;
        next = buf[i + 1] === LF ? i + 2 : i + 1;
        break;
      }
      if (!complete) break;
      r.count = nf;
      r.line = this.line;
      r.start = this.base + p;
      r.end = this.base + recEnd;
      r.bufStart = p;
      r.bufEnd = recEnd;
      r.malformed = malformed;
      onRecord(r);
      this.line += innerLines + 1;
      p = next;
    }
    return p;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The text of field k (quotes removed, doubled quotes undone). */
export function fieldText(r: CsvRecord, k: number): string {
  const t = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.starts[k]!, r.ends[k]! - r.starts[k]!).toString('utf8');
  return r.escaped[k] ? t.replace(/""/g, '"') : t;
}

function isNumberField(r: CsvRecord, k: number): boolean {
  const v = parseNumberBytes(r.buf, r.starts[k]!, r.ends[k]!);
  return v !== undefined && !Number.isNaN(v);
}

/** Reads a CSV stream into a Dataset. */
export async function readCsv(stream: Readable | AsyncIterable<Uint8Array>, file: string, opts: ReadOptions, gzip = false): Promise<Dataset> {
  const tok = new CsvTokenizer(opts.maxRecordBytes);
  const b = new TableBuilder(opts);
  let names: string[] | undefined;
  let hasHeader = false;
  let headerBytes: Uint8Array | undefined;
  let colIdx: number[] = [];
  const named = [opts.label, opts.id, opts.source].filter((x): x is string => x !== undefined);
  const onRecord = (r: CsvRecord) => {
    if (names === undefined) {
      const first = Array.from({ length: r.count }, (_, k) => fieldText(r, k).trim());
      let numeric = false;
      for (let k = 0; k < r.count; k++) if (isNumberField(r, k)) numeric = true;
      const namesMatch = named.some((nm) => !/^\d+$/.test(nm) && first.includes(nm));
      hasHeader = opts.header ?? (!numeric || namesMatch);
      if (hasHeader) {
        const seen = new Map<string, number>();
        names = first.map((nm, k) => {
          const base = nm === '' ? String(k) : nm;
          const c = seen.get(base) ?? 0;
          seen.set(base, c + 1);
          return c === 0 ? base : `${base}.${c}`;
        });
        headerBytes = r.buf.slice(r.bufStart, r.bufEnd);
        colIdx = names.map((nm) => b.column(nm));
        return;
      }
      names = first.map((_, k) => String(k));
      colIdx = names.map((nm) => b.column(nm));
    }
    const raw = r.buf.subarray(r.bufStart, r.bufEnd);
    b.beginRow(r.line, r.start, r.end, raw);
    const m = Math.min(r.count, colIdx.length);
    if (r.count !== colIdx.length || r.malformed) b.malformedRows.push({ row: b.n, fields: r.count, expected: colIdx.length });
    for (let k = 0; k < m; k++) {
      const j = colIdx[k]!;
      if (b.isStringColumn(j)) {
        const t = fieldText(r, k);
        if (t.trim() === '') b.setMissing(j);
        else b.setString(j, t.trim());
        continue;
      }
      const v = r.escaped[k] ? undefined : parseNumberBytes(r.buf, r.starts[k]!, r.ends[k]!);
      if (v === undefined && !r.escaped[k]) b.setMissing(j);
      else if (v === undefined || Number.isNaN(v)) b.setString(j, fieldText(r, k));
      else b.setNumber(j, v);
    }
    b.endRow();
    if (opts.onChunk && b.n >= (opts.chunkRows ?? Infinity)) {
      opts.onChunk(b.takeChunk(file, 'csv', { gzip, hasHeader, text: true, ...(headerBytes ? { headerBytes } : {}) }));
      chunks++;
    }
  };
  let chunks = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      tok.feed(chunk, onRecord);
    }
    tok.end(onRecord);
  } catch (err) {
    if (isRampartError(err)) throw err;
    throw new DatasetFormatError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (names === undefined) throw new DatasetFormatError(`${file} holds no CSV records`);
  const last = b.finish(file, 'csv', { gzip, hasHeader, text: true, ...(headerBytes ? { headerBytes } : {}) });
  if (opts.onChunk && (last.n > 0 || chunks === 0)) opts.onChunk(last);
  return last;
}
