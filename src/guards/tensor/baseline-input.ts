// Reads the legitimate inputs `rampart baseline --from FILE` is built from: JSON Lines of KServe v2
// infer requests (one request per line, each row of the chosen input becomes a baseline row), or a
// feature matrix in any format the dataset reader takes (CSV with or without a header, JSON Lines
// of flat objects, .npy, .npz, Parquet, gzip-compressed text), with an optional label column to
// leave out (the demo's digits CSV: 64 pixels then the label, `--label 64`).
import { closeSync, openSync, readSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { FileNotFoundError } from '../../core/errors.js';
import { readDataset } from '../../dataset/read-dataset.js';
import { TensorBaselineInputError } from './errors.js';
import { DEFAULT_V2_LIMITS, parseV2Request } from './v2.js';

export interface BaselineRows {
  x: Float64Array;
  n: number;
  d: number;
  /** Input name (from the requests, else the --input flag or `input`). */
  inputName: string;
  /** Datatype seen in the requests; null for a feature matrix. */
  datatype: string | null;
  /** Shape of one row as the model takes it (without the batch dimension). */
  rowShape: number[];
}

/** Most rows read (a baseline does not need more, and memory stays bounded). */
export const MAX_BASELINE_ROWS = 200_000;
const MAX_LINE = 64 * 1024 * 1024;

function head(file: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new FileNotFoundError(`cannot open ${file}`, { cause: e, details: { file } });
  }
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whether the file (maybe gzip-compressed) holds JSON Lines of v2 infer requests. */
async function firstTextLine(file: string, gz: boolean): Promise<string> {
  const stream = createReadStream(file, { start: 0, end: gz ? undefined : 1 << 16 });
  const src = gz ? stream.pipe(createGunzip()) : stream;
  src.on('error', () => undefined);
  const rl = createInterface({ input: src, crlfDelay: Infinity });
  try {
    for await (const line of rl) if (line.trim() !== '') return line;
  } catch {
    return '';
  } finally {
    rl.close();
    stream.destroy();
  }
  return '';
}

function looksLikeV2(line: string): boolean {
  const t = line.trimStart();
  if (!t.startsWith('{')) return false;
  return /"inputs"\s*:\s*\[/.test(t);
}

/**
 * Reads legitimate rows from `file`. `input`: which v2 input to use (default: the only one);
 * `label`: a column of a feature matrix to leave out; `imageShape`: rows are h×w images.
 */
export async function readBaselineRows(file: string, opts: { input?: string; label?: string; imageShape?: [number, number] } = {}): Promise<BaselineRows> {
  const h = head(file, 4);
  const gz = h[0] === 0x1f && h[1] === 0x8b;
  const text = h.length > 0 && (gz || (h[0] !== 0x93 && h[0] !== 0x50));
  const rows = text && looksLikeV2(await firstTextLine(file, gz)) ? await readV2Lines(file, gz, opts.input) : await readMatrix(file, opts);
  if (opts.imageShape) {
    const px = opts.imageShape[0] * opts.imageShape[1];
    // The image layout is only for the median filter; the tensor keeps the shape the model takes.
    if (rows.d % px !== 0) throw new TensorBaselineInputError(`rows have ${rows.d} features; an image of ${opts.imageShape.join('x')} needs a multiple of ${px}`);
  }
  return rows;
}

async function readV2Lines(file: string, gz: boolean, inputName: string | undefined): Promise<BaselineRows> {
  const stream = createReadStream(file);
  const src = gz ? stream.pipe(createGunzip()) : stream;
  let streamError: unknown;
  src.on('error', (e: Error) => (streamError = e));
  const rl = createInterface({ input: src, crlfDelay: Infinity });
  const values: number[] = [];
  let d = -1;
  let rowShape: number[] = [];
  let name = inputName;
  let datatype: string | null = null;
  let lineNo = 0;
  let n = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    if (line.length > MAX_LINE) throw new TensorBaselineInputError(`${file} line ${lineNo} is longer than ${MAX_LINE} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(line);
    } catch {
      throw new TensorBaselineInputError(`${file} line ${lineNo} is not JSON`);
    }
    const r = parseV2Request(body, { ...DEFAULT_V2_LIMITS, maxElements: 50_000_000 });
    if (!r.ok) throw new TensorBaselineInputError(`${file} line ${lineNo}: ${r.problem.message} (${r.problem.code} at ${r.problem.where || '/'})`);
    const inputs = r.request.inputs;
    if (name === undefined) {
      if (inputs.length !== 1) throw new TensorBaselineInputError(`${file} line ${lineNo}: the requests have ${inputs.length} inputs; choose one with --input`);
      name = inputs[0]!.name;
    }
    const t = inputs.find((i) => i.name === name);
    if (!t) throw new TensorBaselineInputError(`${file} line ${lineNo}: no input named "${name}"`);
    if (t.datatype === 'BYTES') throw new TensorBaselineInputError(`${file} line ${lineNo}: input "${name}" holds BYTES; a baseline needs numbers`);
    if (t.nonFinite > 0) throw new TensorBaselineInputError(`${file} line ${lineNo}: input "${name}" holds NaN or infinite values`);
    if (t.shape.length < 1 || t.shape[0] === 0) throw new TensorBaselineInputError(`${file} line ${lineNo}: input "${name}" has no rows (shape ${JSON.stringify(t.shape)})`);
    const rs = t.shape.length === 1 ? [1] : t.shape.slice(1);
    const width = rs.reduce((a, s) => a * s, 1);
    if (d < 0) {
      d = width;
      rowShape = t.shape.length === 1 ? [t.shape[0]!] : rs;
      datatype = t.datatype;
    }
    // A rank-1 tensor is one row of features; otherwise the first dimension is the batch.
    const w = t.shape.length === 1 ? t.shape[0]! : width;
    if (w !== d) throw new TensorBaselineInputError(`${file} line ${lineNo}: rows have ${w} features; earlier rows have ${d}`);
    for (const v of t.values) values.push(v);
    n += t.values.length / d;
    if (n > MAX_BASELINE_ROWS) throw new TensorBaselineInputError(`${file} holds more than ${MAX_BASELINE_ROWS} rows; sample it first`);
  }
  if (streamError) throw new TensorBaselineInputError(`${file}: cannot read: ${(streamError as Error).message}`, { cause: streamError });
  if (n === 0 || d <= 0) throw new TensorBaselineInputError(`${file} holds no infer requests`);
  return { x: Float64Array.from(values), n, d, inputName: name!, datatype, rowShape };
}

async function readMatrix(file: string, opts: { input?: string; label?: string }): Promise<BaselineRows> {
  let ds;
  try {
    ds = await readDataset(file, opts.label !== undefined ? { label: opts.label } : {});
  } catch (e) {
    if (e instanceof FileNotFoundError) throw e;
    throw new TensorBaselineInputError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  if (ds.malformedRows.length > 0) {
    const m = ds.malformedRows[0]!;
    throw new TensorBaselineInputError(`${file} row ${m.row + 1} has ${m.fields} fields; expected ${m.expected}`);
  }
  if (ds.typeErrors.length > 0) {
    const t = ds.typeErrors[0]!;
    throw new TensorBaselineInputError(`${file} row ${t.row + 1}, column ${t.column}: ${JSON.stringify(t.value.slice(0, 24))} is not a number`);
  }
  const nonNumeric = ds.columns.filter((c) => c.kind === 'string' && c.name !== opts.label);
  if (nonNumeric.length > 0) throw new TensorBaselineInputError(`${file}: column ${nonNumeric[0]!.name} is not numeric (leave a label out with --label)`);
  if (ds.n > MAX_BASELINE_ROWS) throw new TensorBaselineInputError(`${file} holds more than ${MAX_BASELINE_ROWS} rows; sample it first`);
  if (ds.d === 0) throw new TensorBaselineInputError(`${file} has no numeric feature columns`);
  for (let i = 0; i < ds.X.length; i++) {
    if (!Number.isFinite(ds.X[i])) throw new TensorBaselineInputError(`${file} row ${Math.floor(i / ds.d) + 1}: missing or non-finite value in column ${ds.featureNames[i % ds.d]}`);
  }
  return { x: ds.X, n: ds.n, d: ds.d, inputName: opts.input ?? 'input', datatype: null, rowShape: [ds.d] };
}
