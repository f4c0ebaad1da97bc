// Per-request facts taken from the incoming message: the request id, the client's address (with
// X-Forwarded-For honoured only from trusted proxies), the body (bounded), and the headers
// forwarded upstream (the gateway's own credentials are never passed on).
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Http1Request } from './http1/server.js';
import type { GatewayRequest } from './http1/types.js';
import { BlockList, isIP } from 'node:net';
import { BodyTooLargeError, ClientClosedError } from './errors.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the client's `x-request-id` when trusted and well-formed, else a new UUID. */
export function requestIdOf(req: GatewayRequest, trustClientId: boolean): string {
  if (trustClientId) {
    const h = req.headers['x-request-id'];
    if (typeof h === 'string' && REQUEST_ID.test(h)) return h;
  }
  return randomUUID();
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Builds the matcher for server.trustedProxies (addresses and CIDR ranges). */
export function trustedProxyList(entries: readonly string[]): BlockList | null {
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, family);
    else list.addSubnet(addr!, Number(bits), family);
  }
  return list;
}

function isTrusted(list: BlockList, ip: string): boolean {
  const fam = isIP(ip);
  if (fam === 0) return false;
  return list.check(ip, fam === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address. With trusted proxies, X-Forwarded-For is walked from the right and the
 * first address that is not a trusted proxy is the client (a client cannot forge its way past
 * the proxies it actually came through).
 */
export function sourceIpOf(req: GatewayRequest, trusted: BlockList | null): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? '');
  if (!trusted || !isTrusted(trusted, peer)) return peer;
  const xff = req.headers['x-forwarded-for'];
  if (!xff) return peer;
  const chain = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((s) => normalizeIp(s.trim())).filter(Boolean);
  for (let i = chain.length - 1; i >= 0; i--) {
    const ip = chain[i]!;
    if (isIP(ip) === 0) return peer;
    if (!isTrusted(trusted, ip)) return ip;
  }
  return chain[0] ?? peer;
}

/** The request body when it is already complete in memory (the HTTP/1.1 front's common case); null when readBody() must wait. */
export function completeBody(req: GatewayRequest, limit: number): Buffer | null {
  return req instanceof Http1Request ? req.bodyIfComplete(limit) : null;
}

/**
 * Reads the whole body, refusing more than `limit` bytes (BodyTooLargeError) and failing with
 * ClientClosedError when the client goes away first.
 */
export function readBody(req: GatewayRequest, limit: number): Promise<Buffer> {
  if (req instanceof Http1Request) return req.readBody(limit);
  return readStreamBody(req as IncomingMessage, limit);
}

function readStreamBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null, value?: Buffer): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.pause();
        finish(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => finish(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onError = (): void => finish(new ClientClosedError());
    const onClose = (): void => {
      if (!req.complete) finish(new ClientClosedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Request headers never forwarded: hop-by-hop ones, the gateway's credentials, recomputed ones. */
const DROP_REQUEST = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'authorization',
  'x-api-key',
  'cookie',
  'content-length',
  'accept-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'forwarded',
]);

export function upstreamRequestHeaders(h: IncomingHttpHeaders, requestId: string, sourceIp: string, proto: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Object.keys rather than entries: no [key, value] array per header on this per-request path.
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v === undefined || DROP_REQUEST.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  // Usage accounting reads the upstream body, so ask for it uncompressed.
  out['accept-encoding'] = 'identity';
  out['x-request-id'] = requestId;
  out['x-forwarded-for'] = sourceIp;
  out['x-forwarded-proto'] = proto;
  return out;
}

const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-request-id']);

export function clientResponseHeaders(h: Record<string, string | string[] | undefined>, requestId: string, dropLength: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v === undefined || DROP_RESPONSE.has(k) || k.startsWith('proxy-')) continue;
    if (dropLength && k === 'content-length') continue;
    out[k] = v;
  }
  out['x-request-id'] = requestId;
  return out;
}
