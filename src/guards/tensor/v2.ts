// A strict parser of Open Inference Protocol v2 (KServe v2 / Triton) REST infer requests, for the
// `tensor` guard. It accepts the JSON form only: `inputs[]` of {name, shape, datatype, data,
// parameters?}, with `data` flat or nested row-major, plus optional `id`, `parameters` and
// `outputs[]`. The binary tensor data extension (raw bytes after the JSON, announced by
// `parameters.binary_data_size` on an input or `binary_data` on an output) cannot be inspected: the
// parser throws RAMPART_ERR_TENSOR_BINARY_DATA so the guard's onError policy decides.
//
// Problems are returned as data with the guard's reason codes (`tensor.malformed`, `tensor.shape`,
// `tensor.dtype`, `tensor.nonfinite`, `tensor.too-large`) and a JSON pointer; nothing here throws on
// bad input except for the binary extension, and every loop is bounded by the limits.
// Spec: https://github.com/kserve/open-inference-protocol (REST, "Inference Request JSON Object").
import { TensorBinaryDataError } from './errors.js';

export const V2_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

/** Representable finite range of each numeric datatype (integers must also be whole numbers). */
const NUMERIC_RANGE: Record<Exclude<V2Datatype, 'BYTES' | 'BOOL'>, [number, number]> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  FP16: [-65504, 65504],
  FP32: [-3.4028234663852886e38, 3.4028234663852886e38],
  FP64: [-Number.MAX_VALUE, Number.MAX_VALUE],
};

export function isFloatType(t: V2Datatype): boolean {
  return t === 'FP16' || t === 'FP32' || t === 'FP64';
}

export interface V2Limits {
  /** Most tensors in `inputs`. */
  maxInputs: number;
  /** Most elements over all input tensors of one request. */
  maxElements: number;
  /** Most dimensions of a shape. */
  maxRank: number;
  /** Deepest nesting of `data` arrays. */
  maxDepth: number;
}

export const DEFAULT_V2_LIMITS: V2Limits = { maxInputs: 64, maxElements: 4_000_000, maxRank: 8, maxDepth: 8 };

export interface V2Tensor {
  /** Position in `inputs`. */
  index: number;
  name: string;
  datatype: V2Datatype;
  shape: number[];
  /**
   * Numeric values in row-major order (BOOL as 0/1, NaN/±Infinity kept as such for the
   * non-finite check); empty for BYTES.
   */
  values: Float64Array;
  /** Count of NaN / ±Infinity values (strings "NaN", "Infinity", numbers overflowing the datatype). */
  nonFinite: number;
  parameters?: Record<string, unknown>;
}

export interface V2Request {
  id?: string;
  inputs: V2Tensor[];
  parameters?: Record<string, unknown>;
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export type V2ProblemCode = 'tensor.malformed' | 'tensor.shape' | 'tensor.dtype' | 'tensor.nonfinite' | 'tensor.too-large';

export interface V2Problem {
  code: V2ProblemCode;
  message: string;
  /** JSON pointer into the request body. */
  where: string;
}

export type V2ParseResult = { ok: true; request: V2Request } | { ok: false; problem: V2Problem };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Stop extends Error {
  constructor(readonly problem: V2Problem) {
    super(problem.message);
  }
}

function fail(code: V2ProblemCode, message: string, where: string): never {
  throw new Stop({ code, message, where });
}

const NON_FINITE_STRINGS: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity };

/** Short, safe rendering of a value for a message (never the whole body). */
function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v.slice(0, 24)) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

interface Flat {
  values: number[];
  strings: number;
  nonFinite: number;
  /** Elements seen so far over the whole request (limit). */
  budget: { left: number };
}

function flattenData(data: unknown, t: V2Datatype, out: Flat, depth: number, limits: V2Limits, where: string): void {
  if (depth > limits.maxDepth) fail('tensor.malformed', `data is nested more than ${limits.maxDepth} levels deep`, where);
  const arr = data as unknown[];
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (Array.isArray(v)) {
      flattenData(v, t, out, depth + 1, limits, where);
      continue;
    }
    if (--out.budget.left < 0) fail('tensor.too-large', `the request holds more than ${limits.maxElements} tensor elements`, where);
    if (t === 'BYTES') {
      if (typeof v !== 'string') fail('tensor.dtype', `BYTES data must be strings; found ${show(v)}`, where);
      out.strings++;
      continue;
    }
    if (t === 'BOOL') {
      if (typeof v !== 'boolean') fail('tensor.dtype', `BOOL data must be true or false; found ${show(v)}`, where);
      out.values.push(v ? 1 : 0);
      continue;
    }
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'string' && isFloatType(t) && Object.hasOwn(NON_FINITE_STRINGS, v.toLowerCase())) x = NON_FINITE_STRINGS[v.toLowerCase()]!;
    else fail('tensor.dtype', `${t} data must be numbers; found ${show(v)}`, where);
    const [lo, hi] = NUMERIC_RANGE[t];
    if (!Number.isFinite(x) || (isFloatType(t) && (x < lo || x > hi))) {
      // JSON has no NaN; a client sends 1e999 (parsed as Infinity), a string, or a value the
      // datatype cannot hold, which becomes ±Infinity in the model's tensor.
      if (!isFloatType(t)) fail('tensor.dtype', `${t} data must be whole numbers; found ${show(v)}`, where);
      out.nonFinite++;
      out.values.push(Number.isNaN(x) ? NaN : x > 0 ? Infinity : -Infinity);
      continue;
    }
    if (!isFloatType(t)) {
      if (!Number.isInteger(x)) fail('tensor.dtype', `${t} data must be whole numbers; found ${show(x)}`, where);
      if (x < lo || x > hi) fail('tensor.dtype', `${show(x)} does not fit in ${t}`, where);
    }
    out.values.push(x);
  }
}

function parseTensor(raw: unknown, index: number, limits: V2Limits, budget: { left: number }, names: Set<string>): V2Tensor {
  const where = `/inputs/${index}`;
  if (!isRecord(raw)) fail('tensor.malformed', 'each input must be an object', where);
  for (const k of Object.keys(raw)) {
    if (k !== 'name' && k !== 'shape' && k !== 'datatype' && k !== 'data' && k !== 'parameters') fail('tensor.malformed', `unknown input field ${show(k)}`, `${where}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
  const { name, shape, datatype, data, parameters } = raw;
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) fail('tensor.malformed', 'input "name" must be a non-empty string of at most 256 characters', `${where}/name`);
  if (names.has(name)) fail('tensor.malformed', `input ${show(name)} appears twice`, `${where}/name`);
  names.add(name);
  if (parameters !== undefined && !isRecord(parameters)) fail('tensor.malformed', 'input "parameters" must be an object', `${where}/parameters`);
  if (parameters && parameters.binary_data_size !== undefined) {
    throw new TensorBinaryDataError(`input ${index} uses the binary tensor data extension`, { details: { input: index } });
  }
  if (typeof datatype !== 'string' || !(V2_DATATYPES as readonly string[]).includes(datatype)) {
    fail('tensor.dtype', `input ${show(name)} has datatype ${show(datatype)}; expected one of ${V2_DATATYPES.join(', ')}`, `${where}/datatype`);
  }
  const t = datatype as V2Datatype;
  if (!Array.isArray(shape) || shape.length > limits.maxRank) fail('tensor.shape', `input ${show(name)}: "shape" must be an array of at most ${limits.maxRank} dimensions`, `${where}/shape`);
  let count = 1;
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) fail('tensor.shape', `input ${show(name)}: shape dimensions must be whole numbers >= 0; found ${show(s)}`, `${where}/shape`);
    count *= s;
    if (count > limits.maxElements) fail('tensor.too-large', `input ${show(name)}: shape ${JSON.stringify(shape.slice(0, 8))} has more than ${limits.maxElements} elements`, `${where}/shape`);
  }
  if (data === undefined) fail('tensor.malformed', `input ${show(name)} has no "data"`, `${where}/data`);
  // A scalar is allowed for a tensor of one element (shape [] or [1]).
  const list = Array.isArray(data) ? data : [data];
  const flat: Flat = { values: [], strings: 0, nonFinite: 0, budget };
  flattenData(list, t, flat, 1, limits, `${where}/data`);
  const n = t === 'BYTES' ? flat.strings : flat.values.length;
  if (n !== count) fail('tensor.shape', `input ${show(name)} has ${n} elements; shape ${JSON.stringify(shape)} needs ${count}`, `${where}/data`);
  const out: V2Tensor = { index, name, datatype: t, shape: shape as number[], values: Float64Array.from(flat.values), nonFinite: flat.nonFinite };
  if (parameters) out.parameters = parameters;
  return out;
}

/**
 * Parses a v2 infer request body (already JSON-parsed). Never throws on bad input except
 * RAMPART_ERR_TENSOR_BINARY_DATA for the binary data extension.
 *
 * @example
 * const r = parseV2Request({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [0.5, 1] }] });
 * if (r.ok) r.request.inputs[0].values; // Float64Array [0.5, 1]
 */
export function parseV2Request(body: unknown, limits: V2Limits = DEFAULT_V2_LIMITS): V2ParseResult {
  try {
    if (!isRecord(body)) fail('tensor.malformed', 'the request body must be a JSON object', '');
    for (const k of Object.keys(body)) {
      if (k !== 'id' && k !== 'inputs' && k !== 'outputs' && k !== 'parameters') fail('tensor.malformed', `unknown request field ${show(k)}`, `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
    if (body.id !== undefined && typeof body.id !== 'string') fail('tensor.malformed', '"id" must be a string', '/id');
    if (body.parameters !== undefined && !isRecord(body.parameters)) fail('tensor.malformed', '"parameters" must be an object', '/parameters');
    if (isRecord(body.parameters) && body.parameters.binary_data_output === true) {
      throw new TensorBinaryDataError('the request asks for binary output data');
    }
    if (!Array.isArray(body.inputs) || body.inputs.length === 0) fail('tensor.malformed', '"inputs" must be a non-empty array', '/inputs');
    if (body.inputs.length > limits.maxInputs) fail('tensor.too-large', `more than ${limits.maxInputs} inputs`, '/inputs');
    const budget = { left: limits.maxElements };
    const names = new Set<string>();
    const inputs = (body.inputs as unknown[]).map((t, i) => parseTensor(t, i, limits, budget, names));
    const req: V2Request = { inputs };
    if (typeof body.id === 'string') req.id = body.id;
    if (isRecord(body.parameters)) req.parameters = body.parameters;
    if (body.outputs !== undefined) {
      if (!Array.isArray(body.outputs) || body.outputs.length > limits.maxInputs) fail('tensor.malformed', `"outputs" must be an array of at most ${limits.maxInputs} entries`, '/outputs');
      req.outputs = (body.outputs as unknown[]).map((o, i) => {
        if (!isRecord(o) || typeof o.name !== 'string' || o.name.length === 0) fail('tensor.malformed', 'each requested output needs a "name"', `/outputs/${i}`);
        if (o.parameters !== undefined && !isRecord(o.parameters)) fail('tensor.malformed', 'output "parameters" must be an object', `/outputs/${i}/parameters`);
        if (isRecord(o.parameters) && o.parameters.binary_data === true) throw new TensorBinaryDataError(`output ${i} asks for binary data`);
        return isRecord(o.parameters) ? { name: o.name, parameters: o.parameters } : { name: o.name };
      });
    }
    return { ok: true, request: req };
  } catch (e) {
    if (e instanceof Stop) return { ok: false, problem: e.problem };
    throw e;
  }
}

/** Whether `shape` matches the `expected` shape, where -1 in `expected` matches any size. */
export function shapeMatches(shape: readonly number[], expected: readonly number[]): boolean {
  return shape.length === expected.length && shape.every((s, i) => expected[i] === -1 || expected[i] === s);
}

/** An output tensor of a v2 infer response. */
export interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/** The numeric output tensors of a v2 infer response (flattened); [] when the body is not one. */
export function responseOutputs(body: unknown): V2Output[] {
  if (!isRecord(body) || !Array.isArray(body.outputs)) return [];
  const out: V2Output[] = [];
  for (const o of body.outputs as unknown[]) {
    if (!isRecord(o) || typeof o.name !== 'string' || !Array.isArray(o.shape) || typeof o.datatype !== 'string') continue;
    const data: number[] = [];
    const walk = (v: unknown, depth: number): boolean => {
      if (depth > 8) return false;
      if (Array.isArray(v)) return v.every((x) => walk(x, depth + 1));
      if (typeof v !== 'number') return false;
      data.push(v);
      return true;
    };
    if (!walk(o.data, 0)) continue;
    out.push({ name: o.name, datatype: o.datatype, shape: o.shape.filter((s): s is number => typeof s === 'number'), data });
  }
  return out;
}
