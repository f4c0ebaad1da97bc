// Reading KServe v2 (Open Inference Protocol) tensors out of parsed JSON bodies, for the
// extraction and output-hardening guards: the rows of the input tensor and the predicted class of
// each row. Lenient by design: anything it cannot read yields null and the guard says so.

export interface V2Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown;
  parameters?: unknown;
}

const NUMERIC = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16']);
const MAX_ELEMENTS = 16 * 1024 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The tensors of `inputs` or `outputs`, or null when the list is missing or malformed. */
export function tensors(body: unknown, field: 'inputs' | 'outputs'): V2Tensor[] | null {
  if (!isRecord(body) || !Array.isArray(body[field])) return null;
  const out: V2Tensor[] = [];
  for (const t of body[field] as unknown[]) {
    if (!isRecord(t) || typeof t.name !== 'string' || typeof t.datatype !== 'string' || !Array.isArray(t.shape)) return null;
    if (!t.shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) return null;
    out.push(t as unknown as V2Tensor);
  }
  return out;
}

/** Row-major flattening of (possibly nested) numeric data; null on anything else or too much. */
export function flatNumbers(data: unknown, expected: number): number[] | null {
  if (!Array.isArray(data) || expected > MAX_ELEMENTS) return null;
  const out: number[] = [];
  const walk = (v: unknown[], depth: number): boolean => {
    if (depth > 8) return false;
    for (const e of v) {
      if (Array.isArray(e)) {
        if (!walk(e, depth + 1)) return false;
      } else if (typeof e === 'number' && Number.isFinite(e)) out.push(e);
      else if (typeof e === 'boolean') out.push(e ? 1 : 0);
      else return false;
      if (out.length > expected) return false;
    }
    return true;
  };
  return walk(data, 0) && out.length === expected ? out : null;
}

/** Number of rows (first dimension) the request's input tensor declares; 1 when unreadable. */
export function requestRows(body: unknown, inputName?: string): number {
  const ins = tensors(body, 'inputs');
  const t = ins && (inputName ? ins.find((x) => x.name === inputName) : ins[0]);
  if (!t || t.shape.length === 0) return 1;
  return Math.max(1, t.shape[0]!);
}

export interface InputRows {
  rows: number;
  features: number;
  /** Row-major values, rows × features. */
  values: number[];
}

/** The input tensor's rows (first dimension = batch); null when it is absent, binary or not numeric. */
export function inputRows(body: unknown, inputName?: string): InputRows | null {
  const ins = tensors(body, 'inputs');
  const t = ins && (inputName ? ins.find((x) => x.name === inputName) : ins[0]);
  if (!t || !NUMERIC.has(t.datatype) || t.shape.length === 0) return null;
  const rows = t.shape[0]!;
  const features = t.shape.slice(1).reduce((a, b) => a * b, 1);
  if (rows === 0 || features === 0) return null;
  const values = flatNumbers(t.data, rows * features);
  return values ? { rows, features, values } : null;
}

/**
 * The class predicted for each row: the integer output named `labelOutput` (or the first integer
 * tensor of shape [N] / [N, 1]), else the arg-max of the first floating-point tensor of shape [N, C].
 */
export function predictedClasses(body: unknown, rows: number, labelOutput?: string): number[] | null {
  const outs = tensors(body, 'outputs');
  if (!outs) return null;
  const isInt = (t: V2Tensor) => /^(U?INT\d+)$/.test(t.datatype);
  const isLabelShape = (t: V2Tensor) => t.shape[0] === rows && (t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1));
  const labels = labelOutput ? outs.find((t) => t.name === labelOutput) : outs.find((t) => isInt(t) && isLabelShape(t));
  if (labels && isLabelShape(labels)) {
    const v = flatNumbers(labels.data, rows);
    if (v && v.every(Number.isInteger)) return v;
  }
  const scores = outs.find((t) => /^(FP|BF)\d+$/.test(t.datatype) && t.shape.length === 2 && t.shape[0] === rows && t.shape[1]! >= 2);
  if (!scores) return null;
  const c = scores.shape[1]!;
  const v = flatNumbers(scores.data, rows * c);
  if (!v) return null;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (v[r * c + k]! > v[r * c + best]!) best = k;
    out.push(best);
  }
  return out;
}
