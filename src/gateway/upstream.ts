// Upstream model servers: one undici Pool per configured upstream (keep-alive connections,
// pinned CA, optional client certificate), a request function with timeouts, bounded retries for
// idempotent calls on connection failures, and the mapping of transport failures to 502 / 504.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { ModelConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { ConfigInvalidError } from '../core/errors.js';
import { TlsLoadError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors.js';

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
  readonly pool: Pool;
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
 * Cancels an upstream call when the client goes away. An EventEmitter, which undici accepts as a
 * signal, because an AbortController (an EventTarget) costs several µs per request in Node 20.
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

/** Builds the pool for each model (models sharing an identical upstream share a pool). */
export function createUpstreams(models: readonly ModelConfig[]): Map<string, Upstream> {
  const pools = new Map<string, Pool>();
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
      pool = new Pool(url.origin, {
        connections: u.connections,
        keepAliveTimeout: 30_000,
        headersTimeout: u.timeout,
        bodyTimeout: u.timeout,
        connect: {
          timeout: Math.min(u.timeout, 10_000),
          // A pinned CA replaces the system roots for this upstream only.
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          minVersion: 'TLSv1.2',
        },
      });
      pools.set(poolKey, pool);
    }
    const headers = Object.fromEntries(Object.entries(u.headers).map(([k, v]) => [k.toLowerCase(), resolveHeaderValue(v)]));
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

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function errCode(e: unknown): string {
  const o = e as { code?: unknown; cause?: { code?: unknown } };
  return String(o?.code ?? o?.cause?.code ?? '');
}

/** Maps a transport failure to the gateway's 502/504 errors (the cause is logged, not shown). */
export function upstreamError(e: unknown, model: string): Error {
  const code = errCode(e);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || e instanceof undiciErrors.HeadersTimeoutError) {
    return new UpstreamTimeoutError(`the upstream of model ${model} did not answer in time`, { cause: e });
  }
  return new UpstreamUnavailableError(`the upstream of model ${model} is unavailable`, { cause: e });
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Sends one request upstream. Connection failures of idempotent calls are retried up to
 * `upstream.retries` times; nothing else is retried (a POST may already have had effects).
 */
/** `log` may be a function, so a caller's per-request child logger is only made when a retry is logged. */
export async function callUpstream(up: Upstream, req: UpstreamRequest, log: Logger | (() => Logger)): Promise<Dispatcher.ResponseData> {
  const attempts = IDEMPOTENT.has(req.method) ? up.retries + 1 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await up.pool.request({
        method: req.method as Dispatcher.HttpMethod,
        path: up.basePath + req.path,
        headers: up.hasHeaders ? { ...req.headers, ...up.headers } : req.headers,
        body: req.body,
        signal: req.signal,
        headersTimeout: up.timeoutMs,
        bodyTimeout: up.timeoutMs,
      });
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
