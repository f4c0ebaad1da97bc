// TensorFlow SavedModel analyzer (`saved_model.pb`) and Keras metadata (`keras_metadata.pb`).
// Walks the protobuf lazily (protobuf-walk.ts) with the field numbers of TensorFlow's .proto files:
//   saved_model.proto   SavedModel: saved_model_schema_version 1, meta_graphs 2
//   meta_graph.proto    MetaGraphDef: graph_def 2, object_graph_def 7
//   graph.proto         GraphDef: node 1, library 2
//   function.proto      FunctionDefLibrary: function 1; FunctionDef: node_def 3, signature 1 (OpDef name 1)
//   node_def.proto      NodeDef: name 1, op 2, attr 5 (map entry: key 1, value 2)
//   attr_value.proto    AttrValue: s 2, list 1 (ListValue: s 2)
//   saved_metadata.proto (Keras) SavedMetadata: nodes 1; each node's metadata is a JSON string
// Graph nodes run inside the TensorFlow runtime when a signature is called; the ops flagged here
// reach outside it: files (ReadFile, WriteFile, ImmutableConst, dataset and summary writers),
// Python (PyFunc, EagerPyFunc), debug dumps and PrintV2 to files, RPC. Save/Restore ops are part of
// every SavedModel's checkpoint graph and are not reported. Keras layers recorded in
// keras_metadata.pb or the object graph get the checks of keras-config.ts.
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { checkKerasConfig } from './keras-config.js';
import { clip } from './model-io.js';
import { ProtoError, ProtoReader, type ProtoField } from './protobuf-walk.js';

const DOCS = 'docs/rules.md#tensorflow';

export const TF_RULES = defineRules([
  {
    id: 'RMP-TF-001',
    severity: 'critical',
    title: 'TensorFlow graph writes files or calls Python',
    description:
      'The graph holds an op that writes files chosen by the graph (WriteFile, DatasetToTFRecord, SaveDataset, summary file writers) or calls Python functions registered in the loading process (PyFunc, PyFuncStateless, EagerPyFunc). Calling the model can overwrite files such as shell start-up scripts.',
    remediation: 'Do not serve this model; rebuild it without file or Python ops.',
    links: [DOCS],
  },
  {
    id: 'RMP-TF-002',
    severity: 'high',
    title: 'TensorFlow graph reads files, dumps debug data or opens network connections',
    description:
      'The graph holds an op that reads files (ReadFile, ImmutableConst, WholeFileReader, file datasets), writes debug dumps (Debug* ops, PrintV2 to file://), or talks over the network (Rpc*). Its outputs can exfiltrate local files through inference.',
    remediation: 'Review why the op is needed; serve the model only in a sandbox without access to secrets.',
    links: [DOCS],
  },
  {
    id: 'RMP-TF-003',
    severity: 'medium',
    title: 'TensorFlow graph lists or decodes files',
    description: 'The graph holds an op that lists files (MatchingFiles) or loads matrices and protobuf descriptors from files (LoadAndRemapMatrix, DecodeProtoV2 with a descriptor source).',
    remediation: 'Review why the op is needed.',
    links: [DOCS],
  },
  {
    id: 'RMP-TF-004',
    severity: 'high',
    title: 'TensorFlow SavedModel protobuf is malformed',
    description: 'The SavedModel or Keras metadata protobuf could not be parsed (truncated field, bad wire type, too deeply nested), so its ops were not all checked.',
    remediation: 'Do not load the model; export it again.',
    links: [DOCS],
  },
] as const);

const CRITICAL_OPS = new Set([
  'WriteFile',
  'PyFunc',
  'PyFuncStateless',
  'EagerPyFunc',
  'DatasetToTFRecord',
  'ExperimentalDatasetToTFRecord',
  'SaveDataset',
  'SaveDatasetV2',
  'CreateSummaryFileWriter',
  'CreateSummaryDbWriter',
]);
const HIGH_OPS = new Set([
  'ReadFile',
  'ImmutableConst',
  'WholeFileReader',
  'WholeFileReaderV2',
  'TextLineReader',
  'TextLineReaderV2',
  'FixedLengthRecordReader',
  'FixedLengthRecordReaderV2',
  'TFRecordReader',
  'TFRecordReaderV2',
  'TextLineDataset',
  'TFRecordDataset',
  'TFRecordDatasetV2',
  'FixedLengthRecordDataset',
  'FixedLengthRecordDatasetV2',
  'DebugIdentity',
  'DebugIdentityV2',
  'DebugIdentityV3',
  'DebugNanCount',
  'DebugNumericSummary',
  'DebugNumericSummaryV2',
  'RpcClient',
  'RpcCall',
  'RpcServer',
  'RpcServerStart',
  'RpcServerRegister',
]);
const MEDIUM_OPS = new Set(['MatchingFiles', 'LoadAndRemapMatrix']);

interface OpHit {
  op: string;
  node: string;
  offset: number;
  where: string;
  outputStream?: string;
  descriptorSource?: string;
}

const MAX_DEPTH = 16;

export function looksLikeSavedModel(head: Uint8Array): boolean {
  // saved_model_schema_version = 1, then meta_graphs (field 2, length-delimited) whose content
  // starts with a MetaGraphDef field (1..7, length-delimited).
  if (head[0] !== 0x08 || head[1] !== 0x01 || head[2] !== 0x12) return false;
  let p = 3;
  while (p < head.length && p < 13 && (head[p]! & 0x80) !== 0) p++;
  const first = head[p + 1];
  return first !== undefined && (first & 7) === 2 && first >> 3 >= 1 && first >> 3 <= 7;
}

export function looksLikeKerasMetadata(head: Uint8Array): boolean {
  if (head[0] !== 0x0a) return false;
  const text = new TextDecoder('latin1').decode(head.subarray(0, 4096));
  return text.includes('"class_name"') && /\{"(class_name|name|trainable|expects_training_arg)"/.test(text);
}

export const tfSavedModelAnalyzer: Analyzer = {
  id: 'tf-savedmodel',
  format: 'TensorFlow SavedModel',
  detect(head) {
    return looksLikeSavedModel(head) || looksLikeKerasMetadata(head);
  },
  async analyze(source, ctx) {
    const r = new ProtoReader(source, ctx.signal);
    const head = await source.read(0, 16);
    const hits: OpHit[] = [];
    const keras: Array<{ json: string; offset: number }> = [];
    try {
      if (looksLikeSavedModel(head)) await walkSavedModel(r, source, hits, keras);
      else await findKerasJson(r, { no: 0, wire: 2, start: 0, end: source.size, value: source.size }, keras, 0);
    } catch (e) {
      if (!(e instanceof ProtoError)) throw e;
      ctx.report({ ruleId: 'RMP-TF-004', message: `Malformed protobuf: ${e.message}`, location: { offset: e.offset } });
    }
    reportOps(hits, ctx);
    for (const k of keras.slice(0, 200)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(k.json);
      } catch {
        continue;
      }
      try {
        checkKerasConfig(parsed, (f) => ctx.report({ ...f, location: { ...f.location, offset: k.offset } }), 'keras metadata');
      } catch {
        ctx.report({ ruleId: 'RMP-KERAS-005', message: 'Keras metadata nested too deeply to check', location: { offset: k.offset } });
      }
    }
  },
};

async function walkSavedModel(r: ProtoReader, src: ByteSource, hits: OpHit[], keras: Array<{ json: string; offset: number }>): Promise<void> {
  for await (const f of r.fields(0, src.size)) {
    if (f.no !== 2 || f.wire !== 2) continue;
    for await (const m of r.fields(f.start, f.end)) {
      if (m.wire !== 2) continue;
      if (m.no === 2) await walkGraphDef(r, m, hits);
      else if (m.no === 7) await findKerasJson(r, m, keras, 0);
    }
  }
}

async function walkGraphDef(r: ProtoReader, g: ProtoField, hits: OpHit[]): Promise<void> {
  for await (const f of r.fields(g.start, g.end)) {
    if (f.wire !== 2) continue;
    if (f.no === 1) await walkNode(r, f, hits, 'graph');
    else if (f.no === 2) {
      for await (const fn of r.fields(f.start, f.end)) {
        if (fn.no !== 1 || fn.wire !== 2) continue;
        let fname = '';
        const nodes: ProtoField[] = [];
        for await (const x of r.fields(fn.start, fn.end)) {
          if (x.no === 1 && x.wire === 2) {
            for await (const s of r.fields(x.start, x.end)) if (s.no === 1 && s.wire === 2) fname = await r.string(s, 256);
          } else if (x.no === 3 && x.wire === 2) nodes.push(x);
        }
        for (const n of nodes) await walkNode(r, n, hits, `function ${clip(fname, 80)}`);
      }
    }
  }
}

async function walkNode(r: ProtoReader, n: ProtoField, hits: OpHit[], where: string): Promise<void> {
  let op = '';
  let name = '';
  const attrs: ProtoField[] = [];
  for await (const f of r.fields(n.start, n.end)) {
    if (f.wire !== 2) continue;
    if (f.no === 2) op = await r.string(f, 256);
    else if (f.no === 1) name = await r.string(f, 256);
    else if (f.no === 5) attrs.push(f);
  }
  if (!(CRITICAL_OPS.has(op) || HIGH_OPS.has(op) || MEDIUM_OPS.has(op) || op === 'PrintV2' || op === 'DecodeProtoV2')) return;
  const hit: OpHit = { op, node: name, offset: n.start, where };
  for (const a of attrs) {
    let key = '';
    let value: ProtoField | undefined;
    for await (const e of r.fields(a.start, a.end)) {
      if (e.no === 1 && e.wire === 2) key = await r.string(e, 128);
      else if (e.no === 2 && e.wire === 2) value = e;
    }
    if (!value || (key !== 'output_stream' && key !== 'descriptor_source')) continue;
    for await (const v of r.fields(value.start, value.end)) {
      if (v.no === 2 && v.wire === 2) {
        const s = await r.string(v, 1024);
        if (key === 'output_stream') hit.outputStream = s;
        else hit.descriptorSource = s;
      }
    }
  }
  hits.push(hit);
}

/** Finds JSON texts with "class_name" in length-delimited fields, speculatively parsing nested messages. */
async function findKerasJson(r: ProtoReader, m: ProtoField, out: Array<{ json: string; offset: number }>, depth: number): Promise<void> {
  if (depth > MAX_DEPTH || out.length >= 1000) return;
  const fields: ProtoField[] = [];
  try {
    for await (const f of r.fields(m.start, m.end)) if (f.wire === 2 && f.end > f.start) fields.push(f);
  } catch (e) {
    if (depth === 0) throw e;
    return; // not a message: a string or bytes field
  }
  for (const f of fields) {
    const first = (await r.bytes(f, 1))[0];
    if (first === 0x7b) {
      const text = await r.string(f, 64 * 1024 * 1024);
      if (text.includes('"class_name"')) {
        out.push({ json: text, offset: f.start });
        continue;
      }
    }
    await findKerasJson(r, f, out, depth + 1);
  }
}

function reportOps(hits: OpHit[], ctx: AnalyzeContext): void {
  const seen = new Map<string, number>();
  for (const h of hits) {
    let ruleId: 'RMP-TF-001' | 'RMP-TF-002' | 'RMP-TF-003' | undefined;
    let why = '';
    if (CRITICAL_OPS.has(h.op)) ruleId = 'RMP-TF-001';
    else if (HIGH_OPS.has(h.op)) ruleId = 'RMP-TF-002';
    else if (MEDIUM_OPS.has(h.op)) ruleId = 'RMP-TF-003';
    else if (h.op === 'PrintV2' && h.outputStream?.startsWith('file://')) {
      ruleId = 'RMP-TF-002';
      why = ` to ${clip(h.outputStream, 100)}`;
    } else if (h.op === 'DecodeProtoV2' && h.descriptorSource && h.descriptorSource !== 'local://') {
      ruleId = 'RMP-TF-003';
      why = ` with descriptors from ${clip(h.descriptorSource, 100)}`;
    }
    if (!ruleId) continue;
    const key = `${ruleId}:${h.op}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n > 5) continue;
    ctx.report({
      ruleId,
      message: `${h.where}: node ${clip(h.node || '(unnamed)', 80)} runs ${h.op}${why}`,
      location: { offset: h.offset, record: h.node || undefined },
      details: { op: h.op, where: h.where },
    });
  }
}
