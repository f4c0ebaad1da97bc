// Error codes of the Cedar policy layer.
import { defineError } from '../core/errors.js';

export const PolicyInvalidError = defineError('RAMPART_ERR_POLICY_INVALID', 'a Cedar policy does not parse or fails schema validation');
export const PolicySchemaInvalidError = defineError('RAMPART_ERR_POLICY_SCHEMA_INVALID', 'the Cedar schema (user file or built from the model attributes) is invalid');
export const PolicyDeniedError = defineError('RAMPART_ERR_POLICY_DENIED', 'the access policy does not allow this request');
export const PolicyTestInvalidError = defineError('RAMPART_ERR_POLICY_TEST_INVALID', 'a policy test file is malformed');
