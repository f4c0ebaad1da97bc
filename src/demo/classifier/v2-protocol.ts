// The Open Inference Protocol v2 (KServe / Triton "v2") request and response shapes for a dense
// classifier, with strict validation. Pure: takes parsed JSON, returns a reply or a V2Error that
// the HTTP layer turns into `{"error": "..."}` with its status.
// Spec: https://github.com/kserve/open-inference-protocol (REST, "Inference Request JSON Object").
import { argmax, predictProba, type DenseModel } from './model.js';

export class V2Error extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelDescription {
  name: string;
  version: string;
  platform: string;
  input: TensorMetadata;
  outputs: { probabilities: TensorMetadata; label: TensorMetadata };
  /** Largest batch accepted in one request. */
  maxBatch: number;
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: OutputTensor[];
}

/** The metadata of a classifier with `features` inputs and `classes` outputs. */
export function describeClassifier(name: string, model: DenseModel, maxBatch = 1024): ModelDescription {
  return {
    name,
    version: '1',
    platform: 'rampart-demo-dense',
    input: { name: 'input', datatype: 'FP32', shape: [-1, model.inputs] },
    outputs: {
      probabilities: { name: 'probabilities', datatype: 'FP32', shape: [-1, model.classes] },
      label: { name: 'label', datatype: 'INT64', shape: [-1] },
    },
    maxBatch,
  };
}

/** `GET /v2/models/{name}` body. */
export function modelMetadata(desc: ModelDescription): Record<string, unknown> {
  return {
    name: desc.name,
    versions: [desc.version],
    platform: desc.platform,
    inputs: [desc.input],
    outputs: [desc.outputs.probabilities, desc.outputs.label],
  };
}

const MAX_DEPTH = 4;

/** Flattens row-major nested arrays (both flat and nested `data` are allowed by the spec). */
function flatten(data: unknown, out: number[], depth: number, limit: number): void {
  if (!Array.isArray(data)) throw new V2Error(400, 'input data must be an array of numbers');
  if (depth > MAX_DEPTH) throw new V2Error(400, 'input data is nested too deeply');
  for (const v of data) {
    if (Array.isArray(v)) flatten(v, out, depth + 1, limit);
    else if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
    else throw new V2Error(400, 'input data must hold finite numbers only');
    if (out.length > limit) throw new V2Error(400, 'input data has more elements than its shape');
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed infer request against `desc` and runs `model` on it.
 * Throws V2Error(400) naming the first problem found.
 */
export function infer(model: DenseModel, desc: ModelDescription, body: unknown): InferResponse {
  if (!isRecord(body)) throw new V2Error(400, 'request body must be a JSON object');
  if (body.id !== undefined && typeof body.id !== 'string') throw new V2Error(400, '"id" must be a string');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw new V2Error(400, '"inputs" must be a non-empty array');
  if (body.inputs.length !== 1) throw new V2Error(400, `model "${desc.name}" takes exactly one input, "${desc.input.name}"`);
  const input: unknown = body.inputs[0];
  if (!isRecord(input)) throw new V2Error(400, 'each input must be an object');
  if (input.name !== desc.input.name) throw new V2Error(400, `unknown input "${String(input.name)}"; model "${desc.name}" expects "${desc.input.name}"`);
  if (input.datatype !== desc.input.datatype) {
    throw new V2Error(400, `input "${desc.input.name}" has datatype ${JSON.stringify(input.datatype)}; expected ${desc.input.datatype}`);
  }
  if (isRecord(input.parameters) && input.parameters.binary_data_size !== undefined) {
    throw new V2Error(400, 'the binary tensor data extension is not supported');
  }
  const shape = input.shape;
  const features = model.inputs;
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((s) => typeof s === 'number' && Number.isInteger(s)) ||
    shape[1] !== features ||
    (shape[0] as number) < 1
  ) {
    throw new V2Error(400, `input "${desc.input.name}" must have shape [N, ${features}] with N >= 1; got ${JSON.stringify(shape)}`);
  }
  const rows = shape[0] as number;
  if (rows > desc.maxBatch) throw new V2Error(400, `batch of ${rows} rows is over the limit of ${desc.maxBatch}`);
  const flat: number[] = [];
  flatten(input.data, flat, 0, rows * features);
  if (flat.length !== rows * features) {
    throw new V2Error(400, `input "${desc.input.name}" has ${flat.length} elements; shape ${JSON.stringify(shape)} needs ${rows * features}`);
  }

  let wanted = new Set(['probabilities', 'label']);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new V2Error(400, '"outputs" must be an array');
    wanted = new Set();
    for (const o of body.outputs as unknown[]) {
      if (!isRecord(o) || typeof o.name !== 'string') throw new V2Error(400, 'each requested output needs a "name"');
      if (o.name !== 'probabilities' && o.name !== 'label') throw new V2Error(400, `unknown output "${o.name}"`);
      if (isRecord(o.parameters) && o.parameters.binary_data === true) throw new V2Error(400, 'the binary tensor data extension is not supported');
      wanted.add(o.name);
    }
  }

  const probs: number[] = [];
  const labels: number[] = [];
  for (let r = 0; r < rows; r++) {
    // FP32 on the wire: the model sees what a float32 tensor holds.
    const x = flat.slice(r * features, (r + 1) * features).map(Math.fround);
    const p = predictProba(model, x);
    labels.push(argmax(p));
    for (const v of p) probs.push(Math.fround(v));
  }
  const outputs: OutputTensor[] = [];
  if (wanted.has('probabilities')) outputs.push({ name: 'probabilities', datatype: 'FP32', shape: [rows, model.classes], data: probs });
  if (wanted.has('label')) outputs.push({ name: 'label', datatype: 'INT64', shape: [rows], data: labels });
  const out: InferResponse = { model_name: desc.name, model_version: desc.version, outputs };
  if (typeof body.id === 'string') out.id = body.id;
  return out;
}
