// Coded errors of the upstream HTTP/1.1 client (src/gateway/http1/client.ts). They are causes,
// logged with the request: upstream.ts maps each to the gateway's 502, 504 or 400 before a client
// sees anything (docs/errors.md, "Upstream client").
import { defineError } from '../../core/errors.js';

export const UpstreamProtocolError = defineError('RAMPART_ERR_UPSTREAM_PROTOCOL', 'the upstream sent a malformed HTTP/1.1 response');
export const UpstreamClosedError = defineError('RAMPART_ERR_UPSTREAM_CLOSED', 'the upstream closed the connection before the response was complete');
export const UpstreamConnectTimeoutError = defineError('RAMPART_ERR_UPSTREAM_CONNECT_TIMEOUT', 'the connection to the upstream (TCP and TLS) was not established in time');
export const UpstreamHeadersTimeoutError = defineError('RAMPART_ERR_UPSTREAM_HEADERS_TIMEOUT', 'the upstream did not send its response head in time');
export const UpstreamBodyTimeoutError = defineError('RAMPART_ERR_UPSTREAM_BODY_TIMEOUT', 'the upstream sent no body data for longer than the body timeout');
export const UpstreamAbortedError = defineError('RAMPART_ERR_UPSTREAM_ABORTED', 'the upstream request was cancelled by its caller');
export const UpstreamPoolClosedError = defineError('RAMPART_ERR_UPSTREAM_POOL_CLOSED', 'the upstream connection pool is closed');
export const UpstreamBadRequestError = defineError('RAMPART_ERR_UPSTREAM_BAD_REQUEST', 'a request to the upstream was refused before sending: a method, path, header name or value that could split or smuggle requests');
