// Errors of the prompt-injection guard's optional transformer stage (raised at start-up, when the
// guard is created; the gateway then refuses to start with RAMPART_ERR_GUARD_CONFIG_INVALID).
import { defineError } from '../../core/errors.js';

export const InjectionOnnxUnavailableError = defineError(
  'RAMPART_ERR_INJECTION_ONNX_UNAVAILABLE',
  'prompt-injection options.onnx is set but the optional package onnxruntime-node is not installed or does not load',
);
export const InjectionOnnxModelError = defineError(
  'RAMPART_ERR_INJECTION_ONNX_MODEL',
  'the prompt-injection ONNX model directory is unusable (missing model.onnx or vocabulary, bad config.json, unsupported inputs or outputs)',
);
