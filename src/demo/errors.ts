// Error codes of the demo and its example model servers.
import { defineError } from '../core/errors.js';

export const DemoDataInvalidError = defineError('RAMPART_ERR_DEMO_DATA_INVALID', 'the example data set is missing or malformed');
export const DemoModelInvalidError = defineError('RAMPART_ERR_DEMO_MODEL_INVALID', 'a serialised demo model is malformed');
export const DemoPortInUseError = defineError('RAMPART_ERR_DEMO_PORT_IN_USE', 'the port asked for the demo gateway is already in use');
export const DemoStartFailedError = defineError('RAMPART_ERR_DEMO_START_FAILED', 'a component of the demo failed to start');
