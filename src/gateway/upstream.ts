// Upstream model servers: one HTTP/1.1 connection pool per configured upstream (keep-alive
// connections, pinned CA, optional client certificate; src/gateway/http1/client.ts), a request
// function with timeouts, bounded retries for idempotent calls on connection failures, and the
// mapping of transport failures to 502 / 504.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { ConfigInvalidError } from '../core/errors.js';
import { BadRequestError, TlsLoadError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors.js';
import { createHttp1Pool, IDEMPOTENT_METHODS, type Http1Pool, type UpstreamResponse } from './http1/client.js';

export type { UpstreamResponse } from './http1/client.js';

type UpstreamConfig = ModelConfig['upstream'];

export interface Upstream {
  /** Public model name. */
  readonly model: string;
  /** Name sent to the upstream (upstream.model or the public name). */
  readonly upstreamModel: string;
  /** Path prefix of upstream.url without trailing slash ('' for none). */
  readonly basePath: string;
  readonly timeoutMs: number;
  readonly retries: number;
  /** Static headers added to every upstream request (env: values resolved at start-up). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether `headers` has any entry (saves a copy of the request headers per call when not). */
  readonly hasHeaders: boolean;
  readonly pool: Http1Pool;
}

export interface UpstreamRequest {
  method: string;
  /** Path below the upstream base path, starting with '/', with query string if any. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal: UpstreamAbort;
}

/**
 * Cancels an upstream call when the client goes away. An EventEmitter with an `aborted` flag,
 * because an AbortController (an EventTarget) costs several µs per request in Node 20.
 */
export class UpstreamAbort extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TlsLoadError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
}

function resolveHeaderValue(v: string): string {
  if (!v.startsWith('env:')) return v;
  const name = v.slice(4);
  const val = process.env[name];
  if (val === undefined) throw new ConfigInvalidError(`an upstream header refers to the unset environment variable ${name}`);
  return val;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Static upstream headers are checked once here, so a bad one fails at start-up, not per request. */
function checkHeader(model: string, name: string, value: string): void {
  if (!TOKEN.test(name)) throw new ConfigInvalidError(`models[${model}].upstream.headers: ${JSON.stringify(name)} is not a valid header name`);
  if (!FIELD_VALUE.test(value)) throw new ConfigInvalidError(`models[${model}].upstream.headers.${name}: the value contains CR, LF, NUL or another forbidden character`);
}

/** Builds the pool for each model (models sharing an identical upstream share a pool). */
export function createUpstreams(models: readonly ModelConfig[]): Map<string, Upstream> {
  const pools = new Map<string, Http1Pool>();
  const out = new Map<string, Upstream>();
  for (const m of models) {
    const u: UpstreamConfig = m.upstream;
    const url = new URL(u.url);
    const poolKey = JSON.stringify([url.origin, u.ca, u.cert, u.key, u.connections, u.timeout]);
    let pool = pools.get(poolKey);
    if (!pool) {
      const ca = readPem(u.ca, 'upstream CA');
      const cert = readPem(u.cert, 'upstream client certificate');
      const key = readPem(u.key, 'upstream client key');
      pool = createHttp1Pool(new URL(url.origin), {
        connections: u.connections,
        keepAliveTimeout: 30_000,
        headersTimeout: u.timeout,
        bodyTimeout: u.timeout,
        connectTimeout: Math.min(u.timeout, 10_000),
        // A pinned CA replaces the system roots for this upstream only.
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        minVersion: 'TLSv1.2',
      });
      pools.set(poolKey, pool);
    }
    const headers = Object.fromEntries(Object.entries(u.headers).map(([k, v]) => [k.toLowerCase(), resolveHeaderValue(v)]));
    for (const [k, v] of Object.entries(headers)) checkHeader(m.name, k, v);
    out.set(m.name, {
      model: m.name,
      upstreamModel: u.model ?? m.name,
      basePath: url.pathname.replace(/\/+$/, ''),
      timeoutMs: u.timeout,
      retries: u.retries,
      headers,
      hasHeaders: Object.keys(headers).length > 0,
      pool,
    });
  }
  return out;
}

export async function closeUpstreams(upstreams: Map<string, Upstream>): Promise<void> {
  const pools = new Set([...upstreams.values()].map((u) => u.pool));
  await Promise.all([...pools].map((p) => p.close().catch(() => p.destroy())));
}

/** Failures before any response byte, worth another connection for an idempotent call. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'RAMPART_ERR_UPSTREAM_CLOSED']);
const TIMEOUTS = new Set(['RAMPART_ERR_UPSTREAM_HEADERS_TIMEOUT', 'RAMPART_ERR_UPSTREAM_BODY_TIMEOUT', 'RAMPART_ERR_UPSTREAM_CONNECT_TIMEOUT']);

function errCode(e: unknown): string {
  const o = e as { code?: unknown; cause?: { code?: unknown } };
  return String(o?.code ?? o?.cause?.code ?? '');
}

/**
 * Maps a transport failure to the gateway's 502/504 errors (the cause is logged, not shown): the
 * client's timeouts are 504, a request refused as a splitting attempt is 400, anything else
 * (refused, reset, closed early, malformed response, TLS failure) is 502.
 */
export function upstreamError(e: unknown, model: string): Error {
  const code = errCode(e);
  if (TIMEOUTS.has(code)) return new UpstreamTimeoutError(`the upstream of model ${model} did not answer in time`, { cause: e });
  if (code === 'RAMPART_ERR_UPSTREAM_BAD_REQUEST') return new BadRequestError('the request cannot be forwarded: a header or the path contains forbidden characters', { cause: e });
  return new UpstreamUnavailableError(`the upstream of model ${model} is unavailable`, { cause: e });
}

/**
 * Sends one request upstream. Connection failures of idempotent calls are retried up to
 * `upstream.retries` times; nothing else is retried (a POST may already have had effects). The
 * pool itself also resends a request once when a reused keep-alive socket turns out to have been
 * closed by the upstream (docs/gateway.md, "Upstream connections").
 *
 * `log` may be a function, so a caller's per-request child logger is only made when a retry is logged.
 */
export function callUpstream(up: Upstream, req: UpstreamRequest, log: Logger | (() => Logger)): Promise<UpstreamResponse> {
  const attempts = IDEMPOTENT_METHODS.has(req.method) ? up.retries + 1 : 1;
  if (attempts > 1) return callWithRetries(up, req, log, attempts);
  // One attempt (a POST, or no retries): the pool's promise with the error mapped, no async frame.
  const fail = (e: unknown): Promise<never> => Promise.reject(req.signal.aborted ? e : upstreamError(e, up.model));
  try {
    return sendUpstream(up, req).catch(fail);
  } catch (e) {
    return fail(e);
  }
}

function sendUpstream(up: Upstream, req: UpstreamRequest): Promise<UpstreamResponse> {
  return up.pool.request({
    method: req.method,
    path: up.basePath + req.path,
    headers: up.hasHeaders ? { ...req.headers, ...up.headers } : req.headers,
    body: req.body,
    signal: req.signal,
    headersTimeout: up.timeoutMs,
    bodyTimeout: up.timeoutMs,
  });
}

async function callWithRetries(up: Upstream, req: UpstreamRequest, log: Logger | (() => Logger), attempts: number): Promise<UpstreamResponse> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendUpstream(up, req);
    } catch (e) {
      if (req.signal.aborted) throw e;
      const code = errCode(e);
      if (attempt < attempts && CONNECT_FAILURES.has(code)) {
        (typeof log === 'function' ? log() : log).debug({ err: { code }, attempt }, 'retrying idempotent upstream call');
        await new Promise((r) => setTimeout(r, 25 * attempt));
        continue;
      }
      throw upstreamError(e, up.model);
    }
  }
}
