// Builds a tiny text classifier as an ONNX file for the tests of the transformer stage:
// input_ids [1, n] → Gather(embedding [V, D]) → ReduceMean over tokens → MatMul [D, 2] → Add → Softmax.
// Field numbers from onnx/onnx.proto; only what this graph needs.
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            name: { type: 'string', id: 8 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
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
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
      },
    },
  },
});

const INT64 = 7;
const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/**
 * A classifier over `vocab` whose embedding rows are given: the mean of the rows of a text's tokens,
 * times the identity, softmaxed. A token with row [0, 6] pulls towards label 1.
 */
export function tinyClassifierOnnx(embedding: number[][]): Uint8Array {
  const dims = embedding[0]?.length ?? 2;
  const tensorType = (elemType: number, shape: Array<number | string>) => ({
    tensorType: { elemType, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
  });
  const ModelProto = root.lookupType('onnx.ModelProto');
  const msg = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'rampart-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      initializer: [
        { name: 'emb', dims: [embedding.length, dims], dataType: FLOAT, floatData: embedding.flat() },
        { name: 'w', dims: [dims, 2], dataType: FLOAT, floatData: [1, 0, 0, 1] },
        { name: 'b', dims: [2], dataType: FLOAT, floatData: [0, 0] },
      ],
      node: [
        { opType: 'Gather', input: ['emb', 'input_ids'], output: ['e'], attribute: [{ name: 'axis', type: ATTR_INT, i: 0 }] },
        { opType: 'ReduceMean', input: ['e'], output: ['m'], attribute: [{ name: 'axes', type: ATTR_INTS, ints: [1] }, { name: 'keepdims', type: ATTR_INT, i: 0 }] },
        { opType: 'MatMul', input: ['m', 'w'], output: ['l0'] },
        { opType: 'Add', input: ['l0', 'b'], output: ['logits'] },
        { opType: 'Softmax', input: ['logits'], output: ['probs'], attribute: [{ name: 'axis', type: ATTR_INT, i: -1 }] },
      ],
      input: [{ name: 'input_ids', type: tensorType(INT64, [1, 'n']) }],
      output: [{ name: 'probs', type: tensorType(FLOAT, [1, 2]) }],
    },
  });
  return ModelProto.encode(msg).finish();
}
