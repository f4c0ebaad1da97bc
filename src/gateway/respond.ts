// Maps errors to HTTP status and writes them in the protocol's own error shape. This is the only
// place where a Rampart error code becomes a status: OpenAI's error object on /v1, KServe's
// `{"error": "..."}` (plus our `code`) on /v2 and the generic route. Unknown errors become a 500
// with a fixed message, so no stack, path or upstream detail reaches the client.
import type { GatewayResponse } from './http1/types.js';
import { isRampartError, type RampartError } from '../core/errors.js';
import type { Protocol } from './routes.js';

export interface HttpError {
  status: number;
  code: string;
  message: string;
  /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
  headers: Record<string, string>;
}

const STATUS_BY_CODE: Record<string, number> = {
  RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND: 404,
  RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED: 405,
  RAMPART_ERR_GATEWAY_MODEL_NOT_FOUND: 404,
  RAMPART_ERR_GATEWAY_BAD_JSON: 400,
  RAMPART_ERR_GATEWAY_BAD_REQUEST: 400,
  RAMPART_ERR_GATEWAY_BODY_TOO_LARGE: 413,
  RAMPART_ERR_POLICY_DENIED: 403,
  RAMPART_ERR_GATEWAY_REQUEST_TIMEOUT: 408,
  RAMPART_ERR_GATEWAY_HEADERS_TOO_LARGE: 431,
  RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE: 502,
  RAMPART_ERR_GATEWAY_UPSTREAM_TIMEOUT: 504,
  RAMPART_ERR_GATEWAY_SHUTTING_DOWN: 503,
  RAMPART_ERR_QUOTA_EXCEEDED: 429,
  RAMPART_ERR_DATASET_NOT_FOUND: 404,
  RAMPART_ERR_DATASET_RECORD_INVALID: 400,
  RAMPART_ERR_DATASET_BATCH_TOO_LARGE: 413,
  RAMPART_ERR_GUARD_BLOCKED: 403,
  RAMPART_ERR_GUARD_THROTTLED: 429,
  RAMPART_ERR_GUARD_FAILED: 503,
};

function statusOf(err: RampartError): number {
  const known = STATUS_BY_CODE[err.code];
  if (known) return known;
  if (err.code.startsWith('RAMPART_ERR_AUTH_')) return /UNAVAILABLE/.test(err.code) ? 503 : 401;
  if (err.code.startsWith('RAMPART_ERR_QUOTA_')) return 429;
  if (err.code.startsWith('RAMPART_ERR_POLICY_')) return 403;
  return 500;
}

/** Seconds until retry, from a quota error (property or details), at least 1. */
function retryAfter(err: RampartError): number | undefined {
  const v = (err as unknown as { retryAfterSeconds?: unknown }).retryAfterSeconds ?? err.details?.retryAfterSeconds;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  return Math.max(1, Math.ceil(v));
}

/** Converts anything thrown into the status, code, public message and headers sent to the client. */
export function toHttpError(err: unknown): HttpError {
  if (!isRampartError(err)) {
    return { status: 500, code: 'RAMPART_ERR_INTERNAL', message: 'internal error', headers: {} };
  }
  const status = statusOf(err);
  const headers: Record<string, string> = {};
  if (status === 429) headers['retry-after'] = String(retryAfter(err) ?? 1);
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="rampart"';
  if (status === 405 && typeof err.details?.allow === 'string') headers.allow = err.details.allow;
  // A RampartError of an unmapped code is still an internal failure: do not show its message.
  if (status === 500) return { status, code: err.code, message: 'internal error', headers };
  return { status, code: err.code, message: err.message, headers };
}

function openaiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** The JSON body of an error in the protocol's shape. */
export function errorBody(protocol: Protocol, e: HttpError): string {
  if (protocol === 'openai') {
    return JSON.stringify({ error: { message: e.message, type: openaiType(e.status), param: null, code: e.code } });
  }
  return JSON.stringify({ error: e.message, code: e.code });
}

/**
 * An error as the last event of an OpenAI stream whose headers are already sent (a guard ended it):
 * the Responses API's `error` event, or a `data: {"error": ...}` chunk on chat and completions.
 */
export function sseErrorEvent(route: string, e: HttpError): string {
  if (route === 'openai.responses') {
    return `event: error\ndata: ${JSON.stringify({ type: 'error', code: e.code, message: e.message, param: null })}\n\n`;
  }
  return `data: ${JSON.stringify({ error: { message: e.message, type: openaiType(e.status), param: null, code: e.code } })}\n\n`;
}

/** Writes an error response unless headers were already sent (then the stream is cut instead). */
export function sendError(res: GatewayResponse, protocol: Protocol, e: HttpError, requestId: string, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(protocol, e);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    ...e.headers,
  };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(e.status, headers);
  res.end(body);
}

/** Writes a JSON success body. */
export function sendJson(res: GatewayResponse, status: number, value: unknown, requestId: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    ...extra,
  });
  res.end(body);
}
