// Copies an upstream response body to the client as it arrives: every chunk (or, when events must
// be filtered, every complete SSE event) is written and flushed at once, with backpressure from the
// client slowing the upstream read. Usage is picked out on the way (SSE events or the JSON body).
import type { GatewayResponse } from './http1/types.js';
import type { Readable } from 'node:stream';
import type { TokenUsage } from '../core/types.js';
import { ClientClosedError } from './errors.js';
import { UpstreamResponse } from './http1/client.js';
import { SseScanner, usageFromEvent, usageFromJsonBody } from './usage.js';

export interface ForwardOptions {
  sse: boolean;
  json: boolean;
  /** Look for OpenAI usage. */
  usage: boolean;
  /** Drop the usage-only SSE chunk that the gateway itself asked for. */
  stripUsageChunk: boolean;
  /** Keep a copy of the body (audit.includeBodies). */
  captureBody: boolean;
}

export interface ForwardResult {
  bytes: number;
  usage: TokenUsage | null;
  body?: string;
}

/** Largest JSON body kept in memory to read its usage, and largest body kept for the audit. */
const MAX_KEPT = 8 * 1024 * 1024;
const MAX_CAPTURED = 1024 * 1024;

function waitDrain(res: GatewayResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      reject(new ClientClosedError());
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Largest non-streamed body (with a Content-Length) sent in one piece, see `forwardWhole`. */
export const WHOLE_MAX = 64 * 1024;

/**
 * For a small non-streamed response whose length the upstream announced: reads it completely and
 * sends status line, headers and body in one write (one TLS record and one system call instead of
 * one per chunk plus one for the end), which is most of the cost of forwarding it. Same bytes and
 * same result as `forwardResponse`.
 *
 * Given the upstream response itself rather than its body, a body that arrived whole with the
 * head (`complete`) is used as it is, without making and reading a stream.
 */
export async function forwardWhole(src: Readable | UpstreamResponse, res: GatewayResponse, opts: ForwardOptions): Promise<ForwardResult> {
  const whole = src instanceof UpstreamResponse ? src.wholeBody(Number.POSITIVE_INFINITY) : null;
  if (whole !== null) return forwardComplete(whole, res, opts);
  const body = src instanceof UpstreamResponse ? src.body : src;
  const kept: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const c of body) {
      kept.push(c as Buffer);
      bytes += (c as Buffer).length;
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return forwardComplete(kept.length === 1 ? kept[0]! : Buffer.concat(kept, bytes), res, opts);
}

/** forwardWhole for a body already in hand: no promise. */
export function forwardComplete(all: Buffer, res: GatewayResponse, opts: ForwardOptions): ForwardResult {
  if (res.destroyed) throw new ClientClosedError();
  const bytes = all.length;
  const result: ForwardResult = { bytes, usage: null };
  if (opts.usage && opts.json && bytes > 0) result.usage = usageFromJsonBody(all);
  if (opts.captureBody && bytes > 0) result.body = all.subarray(0, MAX_CAPTURED).toString('utf8');
  res.end(all);
  return result;
}

export async function forwardResponse(body: Readable, res: GatewayResponse, opts: ForwardOptions): Promise<ForwardResult> {
  let bytes = 0;
  let usage: TokenUsage | null = null;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const keep = (opts.usage && opts.json && !opts.sse) || opts.captureBody;
  const scanner = opts.usage && opts.sse ? new SseScanner() : null;

  const write = async (chunk: Buffer): Promise<void> => {
    if (res.destroyed) throw new ClientClosedError();
    bytes += chunk.length;
    if (!res.write(chunk)) await waitDrain(res);
  };

  try {
    for await (const c of body) {
      const chunk = c as Buffer;
      if (keep && keptBytes + chunk.length <= MAX_KEPT) {
        kept.push(chunk);
        keptBytes += chunk.length;
      }
      if (!scanner) {
        await write(chunk);
        continue;
      }
      const gaveUp = scanner.overflowed;
      const events = scanner.feed(chunk);
      if (!opts.stripUsageChunk || gaveUp) {
        // Pass bytes through untouched; the scanner only watches.
        for (const ev of events) usage = usageFromEvent(ev).usage ?? usage;
        await write(chunk);
        continue;
      }
      let out = '';
      for (const ev of events) {
        const u = usageFromEvent(ev);
        if (u.usage) usage = u.usage;
        if (!u.usageOnly) out += ev.raw;
      }
      if (out) await write(Buffer.from(out, 'utf8'));
    }
    if (scanner && opts.stripUsageChunk && !scanner.overflowed) {
      const rest = scanner.rest();
      if (rest) await write(Buffer.from(rest, 'utf8'));
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }

  const result: ForwardResult = { bytes, usage };
  if (keep && kept.length) {
    const all = Buffer.concat(kept, keptBytes);
    if (opts.usage && opts.json && !opts.sse && keptBytes < MAX_KEPT) result.usage = usageFromJsonBody(all);
    if (opts.captureBody) result.body = all.subarray(0, MAX_CAPTURED).toString('utf8');
  }
  return result;
}
