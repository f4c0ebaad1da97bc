// Writes ONNX ModelProto files with protobufjs from a minimal descriptor (field numbers from
// onnx/onnx.proto) — only the fields the tests need (the scanner's and the injection guard's ONNX stage).
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        TensorTypeProto: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TensorTypeProto', id: 1 } } },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        FunctionProto: {
          fields: {
            name: { type: 'string', id: 1 },
            input: { rule: 'repeated', type: 'string', id: 4 },
            output: { rule: 'repeated', type: 'string', id: 5 },
            node: { rule: 'repeated', type: 'NodeProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 9 },
            domain: { type: 'string', id: 10 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            functions: { rule: 'repeated', type: 'FunctionProto', id: 25 },
          },
        },
      },
    },
  },
});

export const ModelProto = root.lookupType('onnx.ModelProto');

export interface OnnxNode {
  opType: string;
  domain?: string;
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: unknown[];
}

export function buildOnnx(
  opts: {
    nodes?: OnnxNode[];
    initializers?: unknown[];
    opsets?: Array<{ domain: string; version: number }>;
    functions?: unknown[];
  } = {},
): Uint8Array {
  const msg = ModelProto.fromObject({
    irVersion: 9,
    producerName: 'pytorch',
    producerVersion: '2.3.0',
    opsetImport: opts.opsets ?? [{ domain: '', version: 17 }],
    graph: {
      name: 'main_graph',
      node: opts.nodes ?? [],
      initializer: opts.initializers ?? [],
      input: [{ name: 'input' }],
      output: [{ name: 'output' }],
    },
    functions: opts.functions ?? [],
  });
  return ModelProto.encode(msg).finish();
}

/** A small realistic MLP: MatMul/Add/Relu/Softmax with float initializers and an If subgraph. */
export function benignOnnx(): Uint8Array {
  const w = (name: string, n: number) => ({ name, dims: [n], dataType: 1, rawData: new Uint8Array(n * 4).fill(7) });
  return buildOnnx({
    opsets: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
      { domain: 'com.microsoft', version: 1 },
    ],
    initializers: [w('fc1.weight', 64), w('fc1.bias', 8), w('fc2.weight', 32)],
    nodes: [
      { opType: 'MatMul', name: '/fc1/MatMul', input: ['input', 'fc1.weight'], output: ['h0'] },
      { opType: 'Add', name: '/fc1/Add', input: ['h0', 'fc1.bias'], output: ['h1'] },
      { opType: 'Relu', name: '/Relu', input: ['h1'], output: ['h2'] },
      { opType: 'FusedMatMul', domain: 'com.microsoft', name: '/fc2/MatMul', input: ['h2', 'fc2.weight'], output: ['h3'] },
      {
        opType: 'If',
        name: '/If',
        input: ['cond'],
        output: ['h4'],
        attribute: [
          { name: 'then_branch', type: 5, g: { name: 'then', node: [{ opType: 'Identity', input: ['h3'], output: ['t'] }] } },
          { name: 'else_branch', type: 5, g: { name: 'else', node: [{ opType: 'Neg', input: ['h3'], output: ['e'] }] } },
        ],
      },
      { opType: 'Softmax', name: '/Softmax', input: ['h4'], output: ['output'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
    ],
  });
}

export function externalTensor(name: string, location: string): unknown {
  return {
    name,
    dims: [4],
    dataType: 1,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  };
}
