// ONNX model builder for bench/model-formats.mjs (protobufjs, field numbers from onnx.proto).
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    TensorProto: { fields: { dims: { rule: 'repeated', type: 'int64', id: 1 }, dataType: { type: 'int32', id: 2 }, name: { type: 'string', id: 8 }, rawData: { type: 'bytes', id: 9 } } },
    NodeProto: { fields: { input: { rule: 'repeated', type: 'string', id: 1 }, output: { rule: 'repeated', type: 'string', id: 2 }, name: { type: 'string', id: 3 }, opType: { type: 'string', id: 4 } } },
    GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 }, name: { type: 'string', id: 2 }, initializer: { rule: 'repeated', type: 'TensorProto', id: 5 } } },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, producerName: { type: 'string', id: 2 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 } } },
  },
});
const ModelProto = root.lookupType('ModelProto');

export function buildOnnx() {
  const node = Array.from({ length: 20000 }, (_, i) => ({ opType: ['MatMul', 'Add', 'Relu', 'LayerNormalization'][i % 4], name: `/layers.${i}/op`, input: [`x${i}`, `w${i % 64}`], output: [`x${i + 1}`] }));
  const initializer = Array.from({ length: 64 }, (_, i) => ({ name: `w${i}`, dims: [262144], dataType: 1, rawData: new Uint8Array(1 << 20) }));
  return ModelProto.encode(ModelProto.fromObject({ irVersion: 9, producerName: 'bench', opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node, initializer } })).finish();
}
