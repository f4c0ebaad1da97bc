// The gateway side of the inference guards (src/guards): the request phase with the parsed body,
// `callModel` for guards that query the model again, and the response phase, both on a buffered
// 2xx JSON body and on a streamed (SSE) body rewritten event by event. Only reached when a guard
// applies to the route and model; requests without guards never get here.
import type { GatewayResponse } from './http1/types.js';
import type { Logger } from '../core/logger.js';
import type { TokenUsage } from '../core/types.js';
import type { BaseContext, GuardPipeline, GuardRun, GuardSelection } from '../guards/pipeline.js';
import { guardsHeader, serverTiming } from '../guards/report.js';
import { SseGuard, STREAM_ROUTES, type StreamFilterSlot } from '../guards/sse.js';
import { requestTexts, responseTexts, stripLogprobs } from '../guards/text.js';
import type { ModelCallResult } from '../guards/types.js';
import { BadRequestError, ClientClosedError } from './errors.js';
import { clientResponseHeaders } from './request.js';
import { sseErrorEvent, toHttpError } from './respond.js';
import { callUpstream, type Upstream, type UpstreamAbort, type UpstreamResponse } from './upstream.js';
import { SseScanner, usageFromEvent, usageFromJson } from './usage.js';

/** Largest response body buffered for response guards; above it each guard's onError applies. */
export const GUARD_RESPONSE_MAX = 8 * 1024 * 1024;
/** Largest body of a `callModel` answer read back. */
const CALL_MODEL_MAX = 8 * 1024 * 1024;
const MAX_CAPTURED = 1024 * 1024;

/** One request's guard state, handed from the handler. */
export interface GuardedCall {
  pipeline: GuardPipeline;
  sel: GuardSelection;
  base: BaseContext;
  runs: GuardRun[];
  gone: UpstreamAbort;
  log: Logger;
}

export interface GuardedResult {
  bytes: number;
  usage: TokenUsage | null;
  body?: string;
  /** A stream ended by a guard: the code written in its error event. */
  stoppedCode?: string;
}

/** Runs the request guards on `body`; true when an enforcing guard rewrote it. Throws refusals. */
export async function runRequestGuards(call: GuardedCall, body: Record<string, unknown>, callModel: (b: Record<string, unknown>) => Promise<ModelCallResult>): Promise<boolean> {
  const route = call.base.route;
  const input = { ...call.base, body, texts: () => requestTexts(route, body), callModel };
  const r = await call.pipeline.runRequest(call.sel.request, input, call.runs, call.gone);
  if (call.gone.aborted) throw new ClientClosedError();
  return r.changed;
}

/**
 * `callModel` for one request: POSTs another JSON body to the same upstream and path (OpenAI bodies
 * get the upstream's model name), reads the JSON answer. Not audited on its own; cancelled with the
 * request. Refused on routes that do not POST to a model.
 */
export function modelCaller(up: Upstream, path: string | null, headers: () => Record<string, string>, gone: UpstreamAbort, log: Logger, openai: boolean) {
  return async (b: Record<string, unknown>): Promise<ModelCallResult> => {
    if (path === null) throw new BadRequestError('callModel: this route does not call a model');
    const payload = openai && typeof b.model === 'string' ? { ...b, model: up.upstreamModel } : b;
    const resp = await callUpstream(up, { method: 'POST', path, headers: { ...headers(), 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(payload)), signal: gone }, log);
    const whole = resp.wholeBody(CALL_MODEL_MAX);
    const chunks: Buffer[] = whole === null ? [] : [whole];
    let n = whole === null ? 0 : whole.length;
    try {
      if (whole === null) {
        for await (const c of resp.body) {
          n += (c as Buffer).length;
          if (n > CALL_MODEL_MAX) throw new BadRequestError('callModel: the answer is too large');
          chunks.push(c as Buffer);
        }
      }
    } finally {
      resp.discard();
    }
    let body: unknown = null;
    try {
      body = n ? JSON.parse(Buffer.concat(chunks, n).toString('utf8')) : null;
    } catch {
      body = null;
    }
    return { status: resp.statusCode, body };
  };
}

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

async function write(res: GatewayResponse, data: string | Buffer): Promise<number> {
  if (res.destroyed) throw new ClientClosedError();
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (!res.write(buf)) await waitDrain(res);
  return buf.length;
}

function headerValues(call: GuardedCall, streams: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  if (call.runs.length || streams.length) out['x-rampart-guards'] = guardsHeader(call.runs, streams);
  if (call.runs.length) out['server-timing'] = serverTiming(call.runs);
  return out;
}

/** Sets the guard headers on a response about to be written (used on unguarded response paths too). */
export function setGuardHeaders(res: GatewayResponse, runs: readonly GuardRun[]): void {
  if (!runs.length) return;
  res.setHeader('x-rampart-guards', guardsHeader(runs));
  res.setHeader('server-timing', serverTiming(runs));
}

/**
 * A 2xx non-streamed response on a route with response guards: buffered (up to GUARD_RESPONSE_MAX),
 * parsed, checked, rewritten when a guard redacts, then sent whole. Refusals are thrown before any
 * byte is written.
 */
export async function forwardGuardedJson(
  call: GuardedCall,
  resp: UpstreamResponse,
  res: GatewayResponse,
  o: { json: boolean; usage: boolean; captureBody: boolean; requestBody: () => Record<string, unknown> },
): Promise<GuardedResult> {
  // A body that came whole with the head is used as it is; otherwise it is read up to the limit.
  const whole = resp.wholeBody(GUARD_RESPONSE_MAX);
  const kept: Buffer[] = whole === null ? [] : [whole];
  let n = whole === null ? 0 : whole.length;
  let over = false;
  const it = whole === null ? resp.body[Symbol.asyncIterator]() : null;
  try {
    while (it !== null) {
      const r = await it.next();
      if (r.done) break;
      const c = r.value as Buffer;
      kept.push(c);
      n += c.length;
      if (n > GUARD_RESPONSE_MAX) {
        over = true;
        break;
      }
    }
    if (res.destroyed) throw new ClientClosedError();
    const slots = call.sel.response;
    const headers = clientResponseHeaders(resp.headers, call.base.requestId, true);
    if (over || !o.json) {
      // Cannot be checked: each guard's onError decides (throws when one fails closed).
      call.pipeline.unscannable('response', slots, call.base, call.runs, over ? `the response body exceeds ${GUARD_RESPONSE_MAX} bytes` : 'the response is not JSON');
      res.writeHead(resp.statusCode, { ...headers, ...headerValues(call) });
      let bytes = 0;
      for (const c of kept) bytes += await write(res, c);
      while (it !== null) {
        const r = await it.next();
        if (r.done) break;
        bytes += await write(res, r.value as Buffer);
      }
      return { bytes, usage: null };
    }
    const raw = Buffer.concat(kept, n);
    let body: unknown;
    let parsed = n > 0;
    try {
      body = n > 0 ? JSON.parse(raw.toString('utf8')) : null;
    } catch {
      parsed = false;
    }
    if (!parsed && n > 0) call.pipeline.unscannable('response', slots, call.base, call.runs, 'the response body is not valid JSON');
    let out = raw;
    if (parsed) {
      const route = call.base.route;
      const input = { ...call.base, status: resp.statusCode, body, requestBody: o.requestBody(), texts: () => responseTexts(route, body) };
      const r = await call.pipeline.runResponse(slots, input, call.runs, call.gone);
      if (call.gone.aborted || res.destroyed) throw new ClientClosedError();
      // Token log-probabilities spell the answer out unscanned: dropped when a text guard enforces.
      const stripped = route.startsWith('openai.') && slots.some((s) => !s.shadow) && stripLogprobs(body);
      if (r.changed || stripped) out = Buffer.from(JSON.stringify(body), 'utf8');
    }
    res.writeHead(resp.statusCode, { ...headers, 'content-length': String(out.length), ...headerValues(call) });
    res.end(out);
    const result: GuardedResult = { bytes: out.length, usage: o.usage && parsed ? usageFromJson(body) : null };
    if (o.captureBody && out.length) result.body = out.subarray(0, MAX_CAPTURED).toString('utf8');
    return result;
  } finally {
    resp.discard();
  }
}

/**
 * A 2xx SSE response on a route with stream filters: every event goes through the filters and is
 * written with the text they release; a block (or a fail-closed failure) ends the stream with an
 * error event in the OpenAI style. Usage is read from the upstream's events on the way.
 */
export async function forwardGuardedStream(
  call: GuardedCall,
  resp: UpstreamResponse,
  res: GatewayResponse,
  o: { usage: boolean; stripUsageChunk: boolean; signal: AbortSignal },
): Promise<GuardedResult> {
  const route = call.base.route;
  const slots = call.sel.stream;
  try {
    if (!STREAM_ROUTES.has(route)) call.pipeline.unscannable('stream', slots, call.base, call.runs, 'streams on this route cannot be split into texts');
  } catch (e) {
    resp.discard();
    throw e;
  }
  const filters: StreamFilterSlot[] = [];
  if (STREAM_ROUTES.has(route)) {
    for (const slot of slots) {
      let filter;
      try {
        filter = slot.guard.openStream!({ ...call.base, signal: o.signal });
      } catch (e) {
        call.runs.push(call.pipeline.record(slot, 'stream', call.base, null, e, 0));
        if (!slot.shadow && !slot.failOpen) {
          resp.discard();
          throw call.pipeline.failed(slot, 'response');
        }
        continue;
      }
      if (filter) filters.push({ slot, filter });
    }
  }
  const guard = new SseGuard(route, filters);
  res.writeHead(resp.statusCode, { ...clientResponseHeaders(resp.headers, call.base.requestId, true), ...headerValues(call, guard.names) });
  res.flushHeaders();
  // Live summaries: the audit record may be written (client gone) before this function ends.
  const runs = guard.runs();
  call.runs.push(...runs);
  const scanner = new SseScanner();
  let bytes = 0;
  let usage: TokenUsage | null = null;
  let stoppedCode: string | undefined;
  const stopWith = async (slotName: string, verdictErr: Error): Promise<void> => {
    const e = toHttpError(verdictErr);
    stoppedCode = e.code;
    call.log.debug({ guard: slotName, code: e.code }, 'stream ended by a guard');
    bytes += await write(res, sseErrorEvent(route, e));
    res.end();
  };
  try {
    const handle = async (events: { raw: string; data: string }[], overflowed: boolean): Promise<boolean> => {
      if (overflowed) {
        const r = guard.unscannable('');
        if (r.stop) {
          await stopWith(r.stop.slot.name, call.pipeline.failed(r.stop.slot, 'response'));
          return false;
        }
      }
      for (const ev of events) {
        if (o.usage) {
          const u = usageFromEvent(ev);
          if (u.usage) usage = u.usage;
          if (o.stripUsageChunk && u.usageOnly) continue;
        }
        const r = guard.event(ev);
        if (r.out) bytes += await write(res, r.out);
        if (r.stop) {
          const { slot, verdict } = r.stop;
          await stopWith(slot.name, verdict ? call.pipeline.refusal(slot, verdict) : call.pipeline.failed(slot, 'response'));
          return false;
        }
      }
      return true;
    };
    let going = true;
    for await (const c of resp.body) {
      if (scanner.overflowed) {
        // Not SSE as we know it and every filter fails open: pass the rest through unchanged.
        bytes += await write(res, c as Buffer);
        continue;
      }
      going = await handle(scanner.feed(c as Buffer), scanner.overflowed);
      if (!going) break;
    }
    if (going) {
      // An unterminated last event still goes through the filters.
      const last = scanner.overflowed ? [] : scanner.feed(Buffer.from('\n\n'));
      going = await handle(last, false);
    }
    if (going) {
      const r = guard.end();
      if (r.out) bytes += await write(res, r.out);
      if (r.stop) {
        const { slot, verdict } = r.stop;
        await stopWith(slot.name, verdict ? call.pipeline.refusal(slot, verdict) : call.pipeline.failed(slot, 'response'));
      } else if (!res.writableEnded) res.end();
    }
  } finally {
    if (!resp.body.destroyed) resp.body.destroy();
    for (const run of runs) call.pipeline.publish(run, call.base);
  }
  return { bytes, usage, ...(stoppedCode ? { stoppedCode } : {}) };
}
