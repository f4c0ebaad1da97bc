// Builds a tiny text classifier as an ONNX file for the tests of the transformer stage:
// input_ids [1, n] → Gather(embedding [V, D]) → ReduceMean over tokens → MatMul [D, 2] → Add → Softmax.
// Encoded with the scanner's test descriptor of onnx/onnx.proto (src/scan/analyzers/testing).
import { ModelProto } from '../../../scan/analyzers/testing/onnx-fixtures.js';

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
