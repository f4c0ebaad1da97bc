// Accumulates rows from any reader into a Dataset: numeric values into growable per-column arrays,
// the label/id/source columns as strings, and the facts schema checks need (missing values,
// non-numeric values, samples of distinct strings). A column's kind is decided at the end by its
// majority, so a few stray strings in a numeric column become type errors, not a string column.
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { ColumnInfo, Dataset, DatasetFormat, ReadOptions, TypeError } from './types.js';
import { DatasetColumnUnknownError } from './errors.js';

const MAX_SAMPLES = 64;

class Column {
  values = new Float64Array(1024);
  missing = 0;
  nonNumeric = 0;
  samples = new Set<string>();
  typeCandidates: TypeError[] = [];
  strings?: string[];
  constructor(readonly name: string, rowsBefore: number, keepStrings: boolean) {
    if (keepStrings) this.strings = new Array<string>(rowsBefore).fill('');
    this.ensure(rowsBefore);
    this.values.fill(NaN, 0, rowsBefore);
    this.missing = rowsBefore;
  }
  ensure(n: number): void {
    if (n <= this.values.length) return;
    let cap = this.values.length * 2;
    while (cap < n) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.values);
    this.values = next;
  }
}

export class TableBuilder {
  private readonly cols: Column[] = [];
  private readonly byName = new Map<string, number>();
  private readonly keep: Set<string>;
  private readonly maxTypeErrors: number;
  private set: Uint8Array = new Uint8Array(0);
  n = 0;
  lines: number[] = [];
  spans: number[] = [];
  rowHashes: string[] = [];
  malformedRows: Dataset['malformedRows'] = [];

  constructor(private readonly opts: ReadOptions) {
    this.keep = new Set([opts.label, opts.id, opts.source].filter((x): x is string => x !== undefined));
    this.maxTypeErrors = opts.maxTypeErrors ?? 10_000;
  }

  /** Index of a column, created (missing in earlier rows) if new. */
  column(name: string): number {
    let i = this.byName.get(name);
    if (i === undefined) {
      i = this.cols.length;
      const c = new Column(name, this.n, this.keep.has(name));
      c.ensure(this.n + 1);
      this.cols.push(c);
      this.byName.set(name, i);
      if (this.set.length <= i) {
        const s = new Uint8Array((i + 1) * 2);
        s.set(this.set);
        this.set = s;
      }
    }
    return i;
  }

  get columnCount(): number {
    return this.cols.length;
  }

  isStringColumn(j: number): boolean {
    return this.cols[j]!.strings !== undefined;
  }

  beginRow(line: number | undefined, start: number | undefined, end: number | undefined, rawForHash: Uint8Array | string): void {
    if (line !== undefined) this.lines.push(line);
    if (start !== undefined && end !== undefined) this.spans.push(start, end);
    // One-shot hashing (Node ≥ 20.12) avoids a Hash object per row; same digest.
    this.rowHashes.push((typeof oneShotHash === 'function' ? oneShotHash('sha256', rawForHash, 'hex') : createHash('sha256').update(rawForHash).digest('hex')).slice(0, 32));
    // Room for this row in every column at once, so the per-value setters need no check.
    const need = this.n + 1;
    for (const c of this.cols) if (c.values.length < need) c.ensure(need);
    if (this.set.length < this.cols.length) this.set = new Uint8Array(this.cols.length * 2);
    // (columns created later in the row grow `set` in column())
    this.set.fill(0, 0, this.cols.length);
  }

  setNumber(j: number, v: number): void {
    const c = this.cols[j]!;
    c.values[this.n] = v;
    if (c.strings) c.strings[this.n] = String(v);
    this.set[j] = 1;
  }

  /** A non-empty value that is not a number (or a kept string column's value). */
  setString(j: number, s: string): void {
    const c = this.cols[j]!;
    c.ensure(this.n + 1);
    c.values[this.n] = NaN;
    if (c.strings) {
      c.strings[this.n] = s;
    } else {
      c.nonNumeric++;
      if (c.samples.size < MAX_SAMPLES) c.samples.add(s.slice(0, 200));
      if (c.typeCandidates.length < this.maxTypeErrors) c.typeCandidates.push({ row: this.n, column: c.name, value: s.slice(0, 200) });
    }
    this.mark(j);
  }

  setMissing(j: number): void {
    const c = this.cols[j]!;
    c.ensure(this.n + 1);
    c.values[this.n] = NaN;
    if (c.strings) c.strings[this.n] = '';
    c.missing++;
    this.mark(j);
  }

  private mark(j: number): void {
    if (this.set.length <= j) {
      const s = new Uint8Array((j + 1) * 2);
      s.set(this.set);
      this.set = s;
    }
    this.set[j] = 1;
  }

  endRow(): void {
    for (let j = 0; j < this.cols.length; j++) if (!this.set[j]) this.setMissing(j);
    this.n++;
  }

  /**
   * Column kinds and feature columns fixed by the first chunk of a chunked read: later chunks keep
   * them (a non-number in a numeric column is a type error, a column first seen later is no feature).
   */
  private frozen?: { kinds: Map<string, ColumnInfo['kind']>; features: string[] };

  /** The rows so far as a Dataset, then starts an empty chunk with the same columns and kinds. */
  takeChunk(file: string, format: DatasetFormat, extra: { gzip: boolean; hasHeader: boolean; headerBytes?: Uint8Array; text: boolean }): Dataset {
    const ds = this.finish(file, format, extra);
    this.frozen ??= { kinds: new Map(ds.columns.map((c) => [c.name, c.kind])), features: ds.featureNames };
    for (let j = 0; j < this.cols.length; j++) this.cols[j] = new Column(this.cols[j]!.name, 0, this.cols[j]!.strings !== undefined);
    this.n = 0;
    this.lines = [];
    this.spans = [];
    this.rowHashes = [];
    this.malformedRows = [];
    return ds;
  }

  finish(file: string, format: DatasetFormat, extra: { gzip: boolean; hasHeader: boolean; headerBytes?: Uint8Array; text: boolean }): Dataset {
    for (const name of this.keep) {
      if (!this.byName.has(name)) {
        throw new DatasetColumnUnknownError(`column "${name}" does not exist (columns: ${[...this.byName.keys()].slice(0, 20).join(', ')})`, {
          details: { column: name },
        });
      }
    }
    const n = this.n;
    const columns: ColumnInfo[] = [];
    const features: Column[] = [];
    const typeErrors: TypeError[] = [];
    const frozen = this.frozen;
    const featureSet = frozen ? new Set(frozen.features) : undefined;
    for (const c of this.cols) {
      const present = n - c.missing;
      const numeric = present - c.nonNumeric;
      let kind: ColumnInfo['kind'] = c.strings ? 'string' : present === 0 ? 'empty' : numeric >= c.nonNumeric ? 'numeric' : 'string';
      const was = frozen?.kinds.get(c.name);
      if (was !== undefined && was !== 'empty') kind = was;
      columns.push({ name: c.name, kind, missing: c.missing, nonNumeric: c.strings ? 0 : c.nonNumeric, samples: [...c.samples] });
      if (featureSet ? featureSet.has(c.name) : kind === 'numeric' && !this.keep.has(c.name)) {
        for (const t of c.typeCandidates) if (typeErrors.length < this.maxTypeErrors) typeErrors.push(t);
      }
      if (!featureSet && kind === 'numeric' && !this.keep.has(c.name)) features.push(c);
    }
    if (frozen) for (const name of frozen.features) features.push(this.cols[this.byName.get(name)!]!);
    typeErrors.sort((a, b) => a.row - b.row);
    const d = features.length;
    const X = new Float64Array(n * d);
    // Row by row (sequential writes; each column read sequentially too), in blocks of columns.
    const vals = features.map((c) => c.values);
    for (let j0 = 0; j0 < d; j0 += 16) {
      const j1 = Math.min(d, j0 + 16);
      for (let i = 0; i < n; i++) {
        const o = i * d;
        for (let j = j0; j < j1; j++) X[o + j] = vals[j]![i]!;
      }
    }
    const strings = (name: string | undefined) => (name === undefined ? undefined : this.cols[this.byName.get(name)!]!.strings);
    const ds: Dataset = {
      file,
      format,
      columns,
      featureNames: features.map((c) => c.name),
      n,
      d,
      X,
      gzip: extra.gzip,
      hasHeader: extra.hasHeader,
      rowHashes: this.rowHashes,
      malformedRows: this.malformedRows,
      typeErrors,
    };
    const labels = strings(this.opts.label);
    const ids = strings(this.opts.id);
    const sources = strings(this.opts.source);
    if (labels) ds.labels = labels.slice(0, n);
    if (ids) ds.ids = ids.slice(0, n);
    if (sources) ds.sources = sources.slice(0, n);
    if (extra.text) {
      ds.lines = Uint32Array.from(this.lines);
      ds.spans = Float64Array.from(this.spans);
    }
    if (extra.headerBytes) ds.headerBytes = extra.headerBytes;
    return ds;
  }
}
