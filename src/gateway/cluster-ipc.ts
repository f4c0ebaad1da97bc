// The messages between the gateway's primary process and its workers (server.workers > 1, see
// cluster.ts). Workers own the listener, authentication, Cedar and their audit records (appended to
// the store's one chain); the primary owns what must be one counter for the whole gateway: the
// quota counters (concurrency, request buckets and token windows), and runs the monitor. Each worker
// batches its requests to the primary: everything asked in one turn of its event loop goes in one
// message, and so do the answers.
import type { QuotaLease, QuotaManager, QuotaRequest } from '../core/contracts.js';
import { RampartError } from '../core/errors.js';
import type { TokenUsage } from '../core/types.js';
import { isEvent, type RampartEvent } from '../events/schema.js';
import { QuotaExceededError, type QuotaLimitKind, type QuotaScope } from '../quota/errors.js';
import { PrimaryGoneError } from './errors.js';

/**
 * Set in a worker process only: where the layers wired in the worker (wire.ts) send monitoring
 * events (guard verdicts, dataset records), since the monitor runs in the primary.
 */
export interface WorkerHooks {
  publish(events: RampartEvent[]): void;
}

let hooks: WorkerHooks | null = null;

export function setWorkerHooks(h: WorkerHooks | null): void {
  hooks = h;
}

/** The worker hooks when this process is a gateway worker (server.workers > 1), else null. */
export function workerHooks(): WorkerHooks | null {
  return hooks;
}

/** Tag of every message of this protocol (other IPC traffic, e.g. cluster internals, is ignored). */
export const TAG = 'rampart.gw';

/** Worker → primary operations. */
export type Op =
  /** Up to `want` admissions with ids id, id+1, ...; answered with how many were granted (at least 1). */
  | ['reserve', number, string, string, boolean, number]
  /** Reserved admissions the worker did not use: the primary cancels them (slot freed, token refunded). */
  | ['unreserve', number[]]
  | ['release', number, TokenUsage | null]
  | ['metrics', number]
  | ['events', RampartEvent[]];

/** Primary → worker answer to a `reserve` or `metrics` of the given id. */
export type Answer = [id: number, ok: true, value?: unknown] | [id: number, ok: false, error: WireError];

export interface WireError {
  code: string;
  message: string;
  quota?: { limit: QuotaLimitKind; scope: QuotaScope; retryAfterSeconds: number };
}

export interface ToPrimary {
  t: typeof TAG;
  ops: Op[];
}

export type ToWorker =
  | { t: typeof TAG; answers: Answer[] }
  /** The primary asks for this worker's metrics (for one aggregated /metrics). */
  | { t: typeof TAG; metricsReq: number }
  /** Stop: drain in-flight requests, flush, exit. */
  | { t: typeof TAG; shutdown: true };

export type FromWorker =
  | ToPrimary
  | { t: typeof TAG; metricsRes: number; data: unknown }
  | { t: typeof TAG; ready: true }
  | { t: typeof TAG; startError: string };

export function isOurs(m: unknown): m is { t: typeof TAG } {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === TAG;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isUsage = (v: unknown): v is TokenUsage => isObj(v) && isNum(v.promptTokens) && isNum(v.completionTokens) && isNum(v.totalTokens);

/** One worker operation with the shape its kind requires, else null. */
export function checkOp(op: unknown): Op | null {
  if (!Array.isArray(op)) return null;
  switch (op[0]) {
    case 'reserve':
      return op.length === 6 && isId(op[1]) && typeof op[2] === 'string' && typeof op[3] === 'string' && typeof op[4] === 'boolean' && Number.isInteger(op[5]) && op[5] >= 1 && op[5] <= MAX_RESERVE
        ? (op as Op)
        : null;
    case 'unreserve':
      return op.length === 2 && Array.isArray(op[1]) && op[1].length <= 4 * MAX_RESERVE && op[1].every(isId) ? (op as Op) : null;
    case 'release':
      return op.length === 3 && isId(op[1]) && (op[2] === null || isUsage(op[2])) ? (op as Op) : null;
    case 'metrics':
      return op.length === 2 && isId(op[1]) ? (op as Op) : null;
    case 'events':
      return op.length === 2 && Array.isArray(op[1]) && op[1].every(isEvent) ? (op as Op) : null;
    default:
      return null;
  }
}

/**
 * A message from a worker, checked before the primary acts on it: the primary holds the quota
 * counters for every worker, so one worker's malformed message (a bug, or a
 * compromised process) must neither end it nor reach those layers. `msg` is null when the message
 * is not usable at all; `dropped` counts what was left out (malformed operations).
 */
export function readWorkerMessage(m: unknown): { msg: FromWorker | null; dropped: number } {
  if (!isOurs(m)) return { msg: null, dropped: 0 };
  const v = m as Record<string, unknown>;
  if ('ops' in v) {
    if (!Array.isArray(v.ops)) return { msg: null, dropped: 1 };
    const ops: Op[] = [];
    for (const op of v.ops) {
      const ok = checkOp(op);
      if (ok) ops.push(ok);
    }
    return { msg: { t: TAG, ops }, dropped: v.ops.length - ops.length };
  }
  if ('metricsRes' in v) return isId(v.metricsRes) ? { msg: { t: TAG, metricsRes: v.metricsRes, data: v.data }, dropped: 0 } : { msg: null, dropped: 1 };
  if (v.ready === true) return { msg: { t: TAG, ready: true }, dropped: 0 };
  if ('startError' in v) return { msg: { t: TAG, startError: typeof v.startError === 'string' ? v.startError.slice(0, 2000) : 'unknown error' }, dropped: 0 };
  return { msg: null, dropped: 1 };
}

/**
 * `fn`'s result, reused for `ms` after it settles successfully; calls in the meantime share the one
 * in flight. The primary's aggregated /metrics goes through it, so a burst of scrapes does not ask
 * every worker for its metrics each time.
 */
export function cachedFor<T>(ms: number, fn: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let value: Promise<T> | null = null;
  let until = 0;
  return () => {
    if (value && now() < until) return value;
    const p = fn();
    value = p;
    until = Infinity;
    p.then(
      () => {
        if (value === p) until = now() + ms;
      },
      () => {
        if (value === p) value = null;
      },
    );
    return p;
  };
}

export function toWire(e: unknown): WireError {
  if (e instanceof QuotaExceededError) {
    return { code: e.code, message: e.message, quota: { limit: e.limit, scope: e.scope, retryAfterSeconds: e.retryAfterSeconds } };
  }
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' && code.startsWith('RAMPART_ERR_') ? code : 'RAMPART_ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export function fromWire(w: WireError): Error {
  if (w.quota) return new QuotaExceededError(w.quota.limit, w.quota.scope, w.quota.retryAfterSeconds * 1000);
  return new RampartError(w.code, w.message);
}

/** Longest wait of a release or event for a question to travel with (ms). */
const LAZY_MS = 2;

/** Most admissions a worker reserves in one round trip. */
export const MAX_RESERVE = 32;

/** How long a reserved admission may wait for a request before it is given back (ms). */
const RESERVE_MS = 25;

/** Admissions reserved by this worker for one principal, model and kind of route. */
interface Reserve {
  /** Granted lease ids not used yet. */
  ids: number[];
  /** Until when they may be used (ms, Date.now()). */
  until: number;
  /** How many to ask for next time: doubles while reservations run out early, halves when some expire. */
  want: number;
  /** When the last reservation was asked for. */
  askedAt: number;
}

const ChannelClosed = (): Error => new PrimaryGoneError('the gateway primary process is not reachable');

/**
 * The worker's end: a QuotaManager and an AuditLog whose calls go to the primary. Fails closed:
 * when the primary cannot be reached, acquire() rejects (the request is refused with a 503).
 */
export class PrimaryLink {
  private ops: Op[] = [];
  private scheduled = false;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;
  private lazy: NodeJS.Timeout | null = null;
  private readonly reserves = new Map<string, Reserve>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly send: (m: ToPrimary) => unknown) {}

  /** Feeds an answer message from the primary. */
  onAnswers(answers: Answer[]): void {
    for (const a of answers) {
      const w = this.waiting.get(a[0]);
      if (!w) continue;
      this.waiting.delete(a[0]);
      if (a[1]) w.resolve(a[2]);
      else w.reject(fromWire(a[2]));
    }
  }

  /** The channel to the primary is gone: everything waiting fails, later calls too. */
  disconnect(): void {
    this.closed = true;
    this.reserves.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const w of this.waiting.values()) w.reject(ChannelClosed());
    this.waiting.clear();
  }

  /**
   * Queues an operation. Questions and releases (urgent) go out at the end of this event-loop turn;
   * releases of reserved admissions and events may wait up to LAZY_MS for the next urgent message to travel with, which
   * saves a message per request at low traffic.
   */
  private push(op: Op, urgent = true): void {
    this.ops.push(op);
    if (this.scheduled) return;
    if (urgent) {
      this.scheduled = true;
      setImmediate(this.sendBatch);
    } else if (!this.lazy) {
      this.lazy = setTimeout(this.sendBatch, LAZY_MS);
    }
  }

  private readonly sendBatch = (): void => {
    this.scheduled = false;
    if (this.lazy) {
      clearTimeout(this.lazy);
      this.lazy = null;
    }
    const ops = this.ops;
    this.ops = [];
    if (ops.length === 0) return;
    let sent = false;
    try {
      if (!this.closed) {
        this.send({ t: TAG, ops });
        sent = true;
      }
    } catch {
      sent = false;
    }
    if (!sent) {
      for (const op of ops) {
        if (op[0] === 'reserve' || op[0] === 'metrics') {
          const w = this.waiting.get(op[1]);
          this.waiting.delete(op[1]);
          w?.reject(ChannelClosed());
        }
      }
    }
  };

  private ask(make: (id: number) => Op): Promise<unknown> {
    if (this.closed) return Promise.reject(ChannelClosed());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.push(make(id));
    });
  }

  /**
   * Quota admissions. While the limits that apply have plenty of room (the primary decides, see
   * QuotaManager.acquireMany), the worker reserves several admissions per round trip and hands them
   * to the next requests of the same principal and model without asking again; reservations grow
   * while they run out early and are given back after RESERVE_MS unused. Near a limit the primary
   * grants one at a time, and those are released at once (urgent), so limits stay exact.
   */
  readonly quotas: QuotaManager = {
    acquire: async (req: QuotaRequest): Promise<QuotaLease> => {
      const k = `${req.principal}\u0000${req.model}\u0000${req.countsTokens ? 1 : 0}`;
      const now = Date.now();
      let r = this.reserves.get(k);
      if (r !== undefined && r.ids.length > 0 && now < r.until) return this.lease(r.ids.pop()!, false);
      if (r === undefined) {
        r = { ids: [], until: 0, want: 1, askedAt: 0 };
        if (this.reserves.size < 10_000) this.reserves.set(k, r);
      } else if (now - r.askedAt < RESERVE_MS) {
        r.want = Math.min(MAX_RESERVE, r.want * 2);
      }
      const want = r.want;
      r.askedAt = now;
      let first = 0;
      const granted = (await this.ask((i) => {
        // Ids first .. first + want - 1 belong to this reservation.
        first = i;
        this.nextId += want - 1;
        return ['reserve', i, req.principal, req.model, req.countsTokens, want];
      })) as number;
      const n = Number.isInteger(granted) && granted >= 1 && granted <= want ? granted : 1;
      // n > 1 only when more were asked for, i.e. for a kind of request tracked in `reserves` (an
      // untracked one always asks for one): the ones this request does not use wait for the next.
      if (n > 1 && !this.closed) {
        for (let i = first + n - 1; i > first; i--) r.ids.push(i);
        r.until = Date.now() + RESERVE_MS;
        this.sweeper ??= setInterval(this.sweep, RESERVE_MS).unref();
      }
      return this.lease(first, n === 1);
    },
  };

  private lease(id: number, urgent: boolean): QuotaLease {
    let released = false;
    return {
      release: (usage?: TokenUsage | null): void => {
        if (released) return;
        released = true;
        // Near a limit (a single grant) the slot must be free before the client's next request
        // could reach another worker: urgent. With room to spare it travels with the next batch.
        if (!this.closed) this.push(['release', id, usage ?? null], urgent);
      },
    };
  }

  /** Gives back reservations that waited RESERVE_MS unused, and asks for fewer next time. */
  private readonly sweep = (): void => {
    const now = Date.now();
    let unused: number[] = [];
    let holding = false;
    for (const r of this.reserves.values()) {
      if (r.ids.length === 0) continue;
      if (now < r.until) {
        holding = true;
        continue;
      }
      unused = unused.concat(r.ids);
      r.ids = [];
      r.want = Math.max(1, r.want >> 1);
    }
    if (!this.closed) for (let i = 0; i < unused.length; i += 4 * MAX_RESERVE) this.push(['unreserve', unused.slice(i, i + 4 * MAX_RESERVE)], false);
    if (!holding && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  };

  /** Monitoring events for the primary's monitor (sent with the next batch). */
  publish(events: RampartEvent[]): void {
    if (!this.closed && events.length) this.push(['events', events], false);
  }

  /** The Prometheus text of all workers together, aggregated by the primary. */
  metricsText(): Promise<string> {
    return this.ask((i) => ['metrics', i]) as Promise<string>;
  }
}
