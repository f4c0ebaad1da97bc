// ONNX analyzer. Walks the protobuf ModelProto lazily (protobuf-walk.ts) using the field numbers
// of onnx/onnx.proto (IR version 10):
//   ModelProto: ir_version 1, producer_name 2, producer_version 3, domain 4, model_version 5,
//     doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20, functions 25
//   OperatorSetIdProto: domain 1, version 2
//   GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12, value_info 13,
//     quantization_annotation 14, sparse_initializer 15
//   NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7, overload 8
//   AttributeProto: t 5, g 6, tensors 10, graphs 11, sparse_tensor 22, sparse_tensors 23
//   TensorProto: name 8, raw_data 9 (never read), external_data 13, data_location 14 (1 = EXTERNAL)
//   StringStringEntryProto: key 1, value 2
//   SparseTensorProto: values 1, indices 2
//   TrainingInfoProto: initialization 1, algorithm 2
//   FunctionProto: name 1, node 7, opset_import 9, domain 10
// Checks: external data whose `location` leaves the model directory (absolute paths, `..`, URLs,
// symbolic links resolving outside; the onnx loader has had path traversal bugs here,
// CVE-2022-25882 and CVE-2024-27318), operator domains that need native custom-op libraries, and
// operators that import Python callables by name (onnxruntime-training's PythonOp).
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { clip } from './model-io.js';
import { probeFields, ProtoError, ProtoReader, type ProtoField } from './protobuf-walk.js';

const DOCS = 'docs/rules.md#onnx';
const ONNX_EXT = 'https://onnx.ai/onnx/repo-docs/ExternalData.html';

export const ONNX_RULES = defineRules([
  {
    id: 'RMP-ONNX-001',
    severity: 'high',
    title: 'ONNX external data location escapes the model directory',
    description:
      'A tensor stores its data in an external file whose location is absolute, climbs out with `..`, is a URL, or is a symbolic link resolving outside the model directory. Loading the model reads that file (e.g. a key or /etc/shadow) into a tensor an attacker can read back through inference (CVE-2022-25882, CVE-2024-27318).',
    remediation: 'Do not load the model; external data must be stored next to the model file under a relative path.',
    links: [DOCS, ONNX_EXT],
  },
  {
    id: 'RMP-ONNX-002',
    severity: 'medium',
    title: 'ONNX model uses a custom operator domain',
    description:
      'Nodes use an operator domain outside the standard ones (ai.onnx, ai.onnx.ml, training and preview domains, com.microsoft) that the model does not define as a local function. Running it needs a native custom-operator library, which is code from outside the model.',
    remediation: 'Identify the library that implements the domain and make sure it comes from a trusted source.',
    links: [DOCS],
  },
  {
    id: 'RMP-ONNX-003',
    severity: 'high',
    title: 'ONNX operator calls Python or arbitrary named functions',
    description:
      'The graph holds PythonOp/PythonOpGrad (onnxruntime-training imports the Python callable named in its attributes) or ATen (calls a PyTorch operator by name; medium).',
    remediation: 'Only run such models in the training setup that produced them, from a trusted source.',
    links: [DOCS],
  },
  {
    id: 'RMP-ONNX-004',
    severity: 'high',
    title: 'ONNX protobuf is malformed',
    description: 'The file stopped parsing as an ONNX ModelProto (truncated field, bad wire type, nesting too deep, external data without a location). Loaders that accept it may disagree with this scan.',
    remediation: 'Do not load the file; export the model again.',
    links: [DOCS],
  },
  {
    id: 'RMP-ONNX-005',
    severity: 'low',
    title: 'ONNX external data file is missing',
    description: 'A tensor refers to an external data file that does not exist next to the model, so the file that will be read at load time was not scanned.',
    remediation: 'Ship the external data files with the model and scan the whole directory.',
    links: [DOCS, ONNX_EXT],
  },
] as const);

const STANDARD_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'ai.onnx.training',
  'ai.onnx.preview.training',
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.microsoft.experimental',
]);
/** onnxruntime-extensions: a well-known library, still native code from outside the model. */
const LOW_DOMAINS = new Set(['ai.onnx.contrib']);
const MAX_DEPTH = 24;

// ModelProto field number → wire type, for detection by content.
const MODEL_FIELDS = new Map<number, number>([
  [1, 0],
  [2, 2],
  [3, 2],
  [4, 2],
  [5, 0],
  [6, 2],
  [7, 2],
  [8, 2],
  [14, 2],
  [20, 2],
  [25, 2],
]);

interface NodeInfo {
  opType: string;
  domain: string;
  offset: number;
  name: string;
}

interface ExternalRef {
  tensor: string;
  location: string | undefined;
  offset: number;
}

interface Collected {
  nodes: NodeInfo[];
  opsetDomains: Set<string>;
  functions: Set<string>;
  external: ExternalRef[];
}

export function looksLikeOnnx(head: Uint8Array): boolean {
  if (head[0] !== 0x08) return false;
  const seen = probeFields(head, MODEL_FIELDS);
  if (!seen || seen[0] !== 1) return false;
  // ir_version alone, or with producer_name only, is also what a SavedModel header looks like;
  // require a field only ModelProto has.
  return seen.some((n) => n >= 3);
}

export const onnxAnalyzer: Analyzer = {
  id: 'onnx',
  format: 'ONNX',
  detect(head) {
    return looksLikeOnnx(head);
  },
  async analyze(source, ctx) {
    const r = new ProtoReader(source, ctx.signal);
    const c: Collected = { nodes: [], opsetDomains: new Set(), functions: new Set(), external: [] };
    try {
      await walkModel(r, source, c);
    } catch (e) {
      if (!(e instanceof ProtoError)) throw e;
      ctx.report({ ruleId: 'RMP-ONNX-004', message: `Malformed ONNX protobuf: ${e.message}`, location: { offset: e.offset } });
    }
    reportDomains(c, ctx);
    await reportExternal(c, ctx);
  },
};

async function walkModel(r: ProtoReader, src: ByteSource, c: Collected): Promise<void> {
  for await (const f of r.fields(0, src.size)) {
    if (f.no === 8 && f.wire === 2) {
      for await (const g of r.fields(f.start, f.end)) if (g.no === 1 && g.wire === 2) c.opsetDomains.add(await r.string(g, 256));
    } else if (f.no === 7 && f.wire === 2) await walkGraph(r, f, c, 0);
    else if (f.no === 25 && f.wire === 2) await walkFunction(r, f, c);
    else if (f.no === 20 && f.wire === 2) {
      for await (const g of r.fields(f.start, f.end)) if ((g.no === 1 || g.no === 2) && g.wire === 2) await walkGraph(r, g, c, 1);
    }
  }
}

async function walkGraph(r: ProtoReader, g: ProtoField, c: Collected, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) throw new ProtoError(`subgraphs nested deeper than ${MAX_DEPTH}`, g.start);
  for await (const f of r.fields(g.start, g.end)) {
    if (f.wire !== 2) continue;
    if (f.no === 1) await walkNode(r, f, c, depth);
    else if (f.no === 5) await walkTensor(r, f, c);
    else if (f.no === 15) await walkSparse(r, f, c);
  }
}

async function walkNode(r: ProtoReader, n: ProtoField, c: Collected, depth: number): Promise<void> {
  const info: NodeInfo = { opType: '', domain: '', offset: n.start, name: '' };
  for await (const f of r.fields(n.start, n.end)) {
    if (f.wire !== 2) continue;
    if (f.no === 4) info.opType = await r.string(f, 256);
    else if (f.no === 7) info.domain = await r.string(f, 256);
    else if (f.no === 3) info.name = await r.string(f, 256);
    else if (f.no === 5) {
      for await (const a of r.fields(f.start, f.end)) {
        if (a.wire !== 2) continue;
        if (a.no === 5 || a.no === 10) await walkTensor(r, a, c);
        else if (a.no === 6 || a.no === 11) await walkGraph(r, a, c, depth + 1);
        else if (a.no === 22 || a.no === 23) await walkSparse(r, a, c);
      }
    }
  }
  c.nodes.push(info);
}

async function walkSparse(r: ProtoReader, s: ProtoField, c: Collected): Promise<void> {
  for await (const f of r.fields(s.start, s.end)) if ((f.no === 1 || f.no === 2) && f.wire === 2) await walkTensor(r, f, c);
}

async function walkTensor(r: ProtoReader, t: ProtoField, c: Collected): Promise<void> {
  let name = '';
  let external = false;
  let location: string | undefined;
  let hasEntries = false;
  for await (const f of r.fields(t.start, t.end)) {
    if (f.no === 8 && f.wire === 2) name = await r.string(f, 256);
    else if (f.no === 14 && f.wire === 0) external = f.value === 1;
    else if (f.no === 13 && f.wire === 2) {
      hasEntries = true;
      let key = '';
      let value = '';
      for await (const e of r.fields(f.start, f.end)) {
        if (e.no === 1 && e.wire === 2) key = await r.string(e, 64);
        else if (e.no === 2 && e.wire === 2) value = await r.string(e, 4096);
      }
      if (key === 'location') location = value;
    }
  }
  if (external || hasEntries) c.external.push({ tensor: name, location, offset: t.start });
}

async function walkFunction(r: ProtoReader, fn: ProtoField, c: Collected): Promise<void> {
  let name = '';
  let domain = '';
  const nodes: ProtoField[] = [];
  for await (const f of r.fields(fn.start, fn.end)) {
    if (f.wire !== 2) continue;
    if (f.no === 1) name = await r.string(f, 256);
    else if (f.no === 10) domain = await r.string(f, 256);
    else if (f.no === 7) nodes.push(f);
    else if (f.no === 9) {
      for await (const g of r.fields(f.start, f.end)) if (g.no === 1 && g.wire === 2) c.opsetDomains.add(await r.string(g, 256));
    }
  }
  c.functions.add(`${domain}\u0000${name}`);
  for (const n of nodes) await walkNode(r, n, c, 1);
}

function reportDomains(c: Collected, ctx: AnalyzeContext): void {
  const byDomain = new Map<string, NodeInfo[]>();
  for (const n of c.nodes) {
    if (n.opType === 'PythonOp' || n.opType === 'PythonOpGrad' || n.opType === 'ATen') {
      const python = n.opType !== 'ATen';
      ctx.report({
        ruleId: 'RMP-ONNX-003',
        severity: python ? 'high' : 'medium',
        message: python
          ? `Node ${clip(n.name || '(unnamed)', 60)} is ${n.opType}: onnxruntime-training imports the Python callable it names`
          : `Node ${clip(n.name || '(unnamed)', 60)} is ATen: it calls a PyTorch operator chosen by name`,
        location: { offset: n.offset, record: n.name || undefined },
        details: { opType: n.opType, domain: n.domain },
      });
    }
    if (STANDARD_DOMAINS.has(n.domain) || c.functions.has(`${n.domain}\u0000${n.opType}`)) continue;
    const list = byDomain.get(n.domain) ?? [];
    list.push(n);
    byDomain.set(n.domain, list);
  }
  for (const [domain, nodes] of [...byDomain].sort(([a], [b]) => a.localeCompare(b))) {
    const ops = [...new Set(nodes.map((n) => n.opType))].slice(0, 10);
    ctx.report({
      ruleId: 'RMP-ONNX-002',
      severity: LOW_DOMAINS.has(domain) ? 'low' : undefined,
      message: `${nodes.length} node(s) use custom operator domain "${clip(domain, 80)}" (${ops.map((o) => clip(o, 40)).join(', ')}), which needs a native custom-op library`,
      location: { offset: nodes[0]!.offset, record: domain },
      details: { domain, opTypes: ops, nodes: nodes.length },
    });
  }
}

/** Why a location is unsafe without looking at the disk, or undefined. */
export function unsafeLocation(location: string): string | undefined {
  if (location.includes('\u0000')) return 'contains a NUL byte';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location) && !/^[a-zA-Z]:[\\/]/.test(location)) return 'is a URL';
  if (location.startsWith('/') || location.startsWith('\\') || /^[a-zA-Z]:/.test(location)) return 'is an absolute path';
  if (location.split(/[\\/]+/).includes('..')) return 'climbs out of the model directory with ".."';
  return undefined;
}

async function reportExternal(c: Collected, ctx: AnalyzeContext): Promise<void> {
  let count = 0;
  const onDisk = ctx.depth === 0 && !ctx.path.includes('!');
  const modelDir = path.dirname(ctx.path);
  let realDir: string | undefined;
  if (onDisk) realDir = await realpath(modelDir).catch(() => undefined);
  for (const e of c.external) {
    if (++count > 200) break;
    const label = clip(e.tensor || '(unnamed)', 60);
    if (e.location === undefined || e.location === '') {
      ctx.report({ ruleId: 'RMP-ONNX-004', message: `Tensor ${label} stores external data without a location`, location: { offset: e.offset, record: e.tensor } });
      continue;
    }
    const why = unsafeLocation(e.location);
    if (why) {
      ctx.report({
        ruleId: 'RMP-ONNX-001',
        message: `Tensor ${label} reads external data from "${clip(e.location, 120)}", which ${why}`,
        location: { offset: e.offset, record: e.tensor },
        details: { location: e.location },
      });
      continue;
    }
    if (!realDir) continue;
    const target = path.join(modelDir, e.location);
    const resolved = await realpath(target).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : undefined));
    if (resolved === null) {
      ctx.report({
        ruleId: 'RMP-ONNX-005',
        message: `Tensor ${label} refers to external data "${clip(e.location, 120)}", which does not exist`,
        location: { offset: e.offset, record: e.tensor },
        details: { location: e.location },
      });
    } else if (resolved !== undefined && path.relative(realDir, resolved).split(path.sep)[0] === '..') {
      ctx.report({
        ruleId: 'RMP-ONNX-001',
        message: `Tensor ${label} reads external data "${clip(e.location, 120)}", a symbolic link resolving outside the model directory`,
        location: { offset: e.offset, record: e.tensor },
        details: { location: e.location },
      });
    }
  }
}
