// Error codes of the inference guards. The three refusals map to HTTP statuses at the edge
// (src/gateway/respond.ts); their messages name the guard and its reason codes, never the matched
// content. The config error stops start-up, like a Cedar policy that does not parse.
import { defineError } from '../core/errors.js';

export const GuardBlockedError = defineError('RAMPART_ERR_GUARD_BLOCKED', 'an inference guard refused the request or the response (403)');
export const GuardThrottledError = defineError('RAMPART_ERR_GUARD_THROTTLED', 'an inference guard throttles this principal; retry after the time in Retry-After (429)');
export const GuardFailedError = defineError('RAMPART_ERR_GUARD_FAILED', 'a fail-closed inference guard failed or timed out, so the call was refused (503)');
export const GuardConfigInvalidError = defineError('RAMPART_ERR_GUARD_CONFIG_INVALID', 'a guards[] entry names an unknown kind or has invalid options; the gateway does not start');
