// Error codes of the `tensor` guard and of `rampart baseline` (docs/errors.md).
import { defineError } from '../../core/errors.js';

export const TensorBinaryDataError = defineError(
  'RAMPART_ERR_TENSOR_BINARY_DATA',
  'a KServe v2 request uses the binary tensor data extension, which the tensor guard cannot inspect (its onError policy applies)',
);
export const TensorMetadataError = defineError('RAMPART_ERR_TENSOR_METADATA', 'the model metadata (GET /v2/models/{name}) could not be fetched or is not valid');
export const TensorBaselineInvalidError = defineError('RAMPART_ERR_TENSOR_BASELINE_INVALID', 'a tensor baseline file is missing, not valid JSON, of an unknown version, or inconsistent');
export const TensorBaselineInputError = defineError('RAMPART_ERR_TENSOR_BASELINE_INPUT', 'the legitimate inputs given to `rampart baseline` cannot be read or do not form a consistent feature matrix');
export const TensorSqueezeCalibrationError = defineError('RAMPART_ERR_TENSOR_SQUEEZE_CALIBRATION', 'calibrating feature squeezing against the model failed (no answer, or no probability output)');
