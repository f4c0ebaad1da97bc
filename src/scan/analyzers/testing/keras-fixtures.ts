// Keras model configs (Keras 3 `config.json`, Keras 2 `model_config`) written for the tests, benign
// and malicious, plus a marshalled-code stand-in with the layout the scanner keys on.
export function denseLayer(name: string, units: number): Record<string, unknown> {
  return {
    module: 'keras.layers',
    class_name: 'Dense',
    config: {
      name,
      trainable: true,
      dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
      units,
      activation: 'relu',
      use_bias: true,
      kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
      bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
      kernel_regularizer: null,
    },
    registered_name: null,
    build_config: { input_shape: [null, 16] },
  };
}

/** A Keras 3 Sequential model's config.json, with layers added by the caller. */
export function keras3Config(extraLayers: unknown[] = []): Record<string, unknown> {
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 16], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null },
        denseLayer('dense', 32),
        { module: 'keras.layers', class_name: 'Dropout', config: { name: 'dropout', rate: 0.2, seed: null }, registered_name: null },
        ...extraLayers,
        denseLayer('dense_1', 10),
      ],
      build_input_shape: [null, 16],
    },
    registered_name: null,
    build_config: { input_shape: [null, 16] },
    compile_config: {
      optimizer: { module: 'keras.optimizers', class_name: 'Adam', config: { name: 'adam', learning_rate: 0.001 }, registered_name: null },
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    },
  };
}

/** A Keras 2 (tf.keras) functional model_config with TFOpLambda layers, as .h5 files hold. */
export function keras2Config(extraLayers: unknown[] = []): Record<string, unknown> {
  return {
    class_name: 'Functional',
    config: {
      name: 'model',
      layers: [
        { class_name: 'InputLayer', config: { batch_input_shape: [null, 8], dtype: 'float32', name: 'input_1' }, name: 'input_1', inbound_nodes: [] },
        { class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'linear' }, name: 'dense', inbound_nodes: [[['input_1', 0, 0, {}]]] },
        { class_name: 'TFOpLambda', config: { name: 'tf.math.multiply', function: 'math.multiply' }, name: 'tf.math.multiply', inbound_nodes: [['dense', 0, 0, { y: 2.0 }]] },
        ...extraLayers,
      ],
      input_layers: [['input_1', 0, 0]],
      output_layers: [['tf.math.multiply', 0, 0]],
    },
    keras_version: '2.13.1',
    backend: 'tensorflow',
  };
}

/** Bytes laid out like a marshalled code object naming os.system (not real bytecode). */
export function fakeMarshalledCode(): string {
  const parts = [0xe3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x43, 0, 0, 0, 0xf3, 0x0c, 0, 0, 0];
  const name = (s: string) => [0xda, s.length, ...Buffer.from(s, 'ascii')];
  return Buffer.from([...parts, 0x29, 0x02, ...name('os'), ...name('system'), 0x4e, 0x4e]).toString('base64');
}

export const KERAS_LAMBDA_KERAS2 = {
  class_name: 'Lambda',
  config: { name: 'lambda', function: [fakeMarshalledCode(), null, null], function_type: 'lambda', module: '__main__', output_shape: null, arguments: {} },
  name: 'lambda',
  inbound_nodes: [[['dense', 0, 0, {}]]],
};

export const KERAS_LAMBDA_KERAS3 = {
  module: 'keras.layers',
  class_name: 'Lambda',
  config: { name: 'lambda', function: { class_name: '__lambda__', config: { code: fakeMarshalledCode(), defaults: null, closure: null } }, arguments: {} },
  registered_name: null,
};
