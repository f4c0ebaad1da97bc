// Coded errors of the monitor (src/monitor, src/events). Documented in docs/errors.md under "Monitoring".
import { defineError } from '../core/errors.js';

export const AlertNotFoundError = defineError('RAMPART_ERR_MONITOR_ALERT_NOT_FOUND', 'no alert with this id exists');
export const AlertTransitionError = defineError(
  'RAMPART_ERR_MONITOR_ALERT_TRANSITION',
  'the alert cannot move to that status (already acknowledged or resolved)',
);
export const MonitorStoreUnsupportedError = defineError('RAMPART_ERR_MONITOR_STORE_UNSUPPORTED', 'the configured store does not hold alerts and events');
export const SinkDeliveryError = defineError('RAMPART_ERR_MONITOR_SINK_DELIVERY', 'an alert notification could not be delivered to a sink');
