// Errors raised by the gateway itself. Each maps to one HTTP status at the edge (respond.ts);
// the code is what clients see in the protocol's error object, never a stack or an upstream detail.
import { defineError } from '../core/errors.js';

export const RouteNotFoundError = defineError('RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND', 'no gateway route matches the method and path');
export const MethodNotAllowedError = defineError('RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED', 'the route exists but not for this HTTP method');
export const ModelNotFoundError = defineError('RAMPART_ERR_GATEWAY_MODEL_NOT_FOUND', 'the requested model is not configured for this protocol');
export const BadJsonError = defineError('RAMPART_ERR_GATEWAY_BAD_JSON', 'the request body is not valid JSON');
export const BadRequestError = defineError('RAMPART_ERR_GATEWAY_BAD_REQUEST', 'the request is malformed (for example no model named)');
export const BodyTooLargeError = defineError('RAMPART_ERR_GATEWAY_BODY_TOO_LARGE', 'the request body exceeds server.bodyLimit');
export const UpstreamUnavailableError = defineError('RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE', 'the upstream model server could not be reached or failed mid-response');
export const UpstreamTimeoutError = defineError('RAMPART_ERR_GATEWAY_UPSTREAM_TIMEOUT', 'the upstream model server did not answer within upstream.timeout');
export const ClientClosedError = defineError('RAMPART_ERR_GATEWAY_CLIENT_CLOSED', 'the client closed the connection before the response was complete (audit only)');
export const ShuttingDownError = defineError('RAMPART_ERR_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down and accepts no new requests');
export const ListenFailedError = defineError('RAMPART_ERR_GATEWAY_LISTEN_FAILED', 'the gateway could not listen on server.listen');
export const RequestTimeoutError = defineError('RAMPART_ERR_GATEWAY_REQUEST_TIMEOUT', 'the client did not send the complete request within server.requestTimeout');
export const HeadersTooLargeError = defineError('RAMPART_ERR_GATEWAY_HEADERS_TOO_LARGE', 'the request headers exceed the server limit');
export const TlsLoadError = defineError('RAMPART_ERR_GATEWAY_TLS_LOAD', 'a TLS certificate, key or CA file could not be loaded');
export const PrimaryGoneError = defineError('RAMPART_ERR_GATEWAY_PRIMARY_GONE', 'a gateway worker cannot reach its primary process (quota and audit), so it refuses the request');
export const WorkerFailedError = defineError('RAMPART_ERR_GATEWAY_WORKER_FAILED', 'a gateway worker process failed to start or exited');
