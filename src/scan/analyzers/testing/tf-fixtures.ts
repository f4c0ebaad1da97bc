// Writes TensorFlow SavedModel protobufs with protobufjs from a minimal descriptor (field numbers
// from tensorflow/core/protobuf/saved_model.proto, meta_graph.proto, framework/graph.proto,
// node_def.proto, function.proto, attr_value.proto) and Keras saved_metadata.proto.
import protobuf from 'protobufjs';

// The descriptor is JSON (INamespace); map fields carry `keyType`, which the IField type omits.
const root = protobuf.Root.fromJSON({
  nested: {
    tf: {
      nested: {
        AttrValue: { fields: { s: { type: 'bytes', id: 2 }, i: { type: 'int64', id: 3 }, type: { type: 'int32', id: 6 } } },
        NodeDef: {
          fields: {
            name: { type: 'string', id: 1 },
            op: { type: 'string', id: 2 },
            input: { rule: 'repeated', type: 'string', id: 3 },
            device: { type: 'string', id: 4 },
            attr: { keyType: 'string', type: 'AttrValue', id: 5 } as protobuf.IMapField,
          },
        },
        OpDef: { fields: { name: { type: 'string', id: 1 } } },
        FunctionDef: { fields: { signature: { type: 'OpDef', id: 1 }, nodeDef: { rule: 'repeated', type: 'NodeDef', id: 3 } } },
        FunctionDefLibrary: { fields: { function: { rule: 'repeated', type: 'FunctionDef', id: 1 } } },
        VersionDef: { fields: { producer: { type: 'int32', id: 1 } } },
        GraphDef: {
          fields: {
            node: { rule: 'repeated', type: 'NodeDef', id: 1 },
            library: { type: 'FunctionDefLibrary', id: 2 },
            versions: { type: 'VersionDef', id: 4 },
          },
        },
        MetaInfoDef: { fields: { metaGraphVersion: { type: 'string', id: 1 }, tags: { rule: 'repeated', type: 'string', id: 4 }, tensorflowVersion: { type: 'string', id: 5 } } },
        SavedUserObject: { fields: { identifier: { type: 'string', id: 1 }, metadata: { type: 'string', id: 3 } } },
        SavedObject: { fields: { userObject: { type: 'SavedUserObject', id: 4 } } },
        SavedObjectGraph: { fields: { nodes: { rule: 'repeated', type: 'SavedObject', id: 1 } } },
        MetaGraphDef: {
          fields: {
            metaInfoDef: { type: 'MetaInfoDef', id: 1 },
            graphDef: { type: 'GraphDef', id: 2 },
            objectGraphDef: { type: 'SavedObjectGraph', id: 7 },
          },
        },
        SavedModel: { fields: { savedModelSchemaVersion: { type: 'int64', id: 1 }, metaGraphs: { rule: 'repeated', type: 'MetaGraphDef', id: 2 } } },
        KerasSavedObject: {
          fields: { nodeId: { type: 'int32', id: 2 }, nodePath: { type: 'string', id: 3 }, identifier: { type: 'string', id: 4 }, metadata: { type: 'string', id: 5 } },
        },
        SavedMetadata: { fields: { nodes: { rule: 'repeated', type: 'KerasSavedObject', id: 1 } } },
      },
    },
  },
});

const SavedModel = root.lookupType('tf.SavedModel');
const SavedMetadata = root.lookupType('tf.SavedMetadata');

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: Uint8Array; i?: number; type?: number }>;
}

/** The nodes every SavedModel has: variables, the checkpoint save/restore graph, a serving call. */
export function standardNodes(): TfNode[] {
  return [
    { name: 'serving_default_input_1', op: 'Placeholder', attr: { dtype: { type: 1 } } },
    { name: 'dense/kernel', op: 'VarHandleOp', attr: { dtype: { type: 1 } } },
    { name: 'saver_filename', op: 'Placeholder', attr: { dtype: { type: 7 } } },
    { name: 'StatefulPartitionedCall', op: 'StatefulPartitionedCall', input: ['serving_default_input_1', 'dense/kernel'] },
    { name: 'StatefulPartitionedCall_1', op: 'StatefulPartitionedCall', input: ['saver_filename'] },
  ];
}

export function buildSavedModel(opts: { nodes?: TfNode[]; functions?: Array<{ name: string; nodes: TfNode[] }>; kerasMetadata?: string[] } = {}): Uint8Array {
  const fn = (f: { name: string; nodes: TfNode[] }) => ({ signature: { name: f.name }, nodeDef: f.nodes });
  const functions = opts.functions ?? [
    {
      name: '__inference__traced_save_42',
      nodes: [
        { name: 'StringJoin', op: 'StringJoin', input: ['file_prefix', 'Const'] },
        { name: 'ShardedFilename', op: 'ShardedFilename', input: ['StringJoin', 'num_shards'] },
        { name: 'SaveV2', op: 'SaveV2', input: ['ShardedFilename', 'tensor_names', 'shape_and_slices', 'dense/kernel'] },
        { name: 'MergeV2Checkpoints', op: 'MergeV2Checkpoints', input: ['checkpoint_prefixes', 'file_prefix'] },
      ],
    },
    { name: '__inference__traced_restore_55', nodes: [{ name: 'RestoreV2', op: 'RestoreV2', input: ['file_prefix', 'tensor_names', 'shape_and_slices'] }] },
    {
      name: '__inference_call_17',
      nodes: [
        { name: 'MatMul', op: 'MatMul', input: ['inputs', 'kernel'] },
        { name: 'Relu', op: 'Relu', input: ['MatMul'] },
      ],
    },
  ];
  const msg = SavedModel.fromObject({
    savedModelSchemaVersion: 1,
    metaGraphs: [
      {
        metaInfoDef: { metaGraphVersion: 'v2.15.0', tags: ['serve'], tensorflowVersion: '2.15.0' },
        graphDef: { node: opts.nodes ?? standardNodes(), library: { function: functions.map(fn) }, versions: { producer: 1645 } },
        objectGraphDef: {
          nodes: (opts.kerasMetadata ?? []).map((m) => ({ userObject: { identifier: '_tf_keras_layer', metadata: m } })),
        },
      },
    ],
  });
  return SavedModel.encode(msg).finish();
}

export function buildKerasMetadata(layers: string[]): Uint8Array {
  return SavedMetadata.encode(
    SavedMetadata.fromObject({ nodes: layers.map((m, i) => ({ nodeId: i, nodePath: i === 0 ? 'root' : `root.layer-${i}`, identifier: '_tf_keras_layer', metadata: m })) }),
  ).finish();
}

export function str(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
