// Quotas per principal and per model: requests per minute (token bucket with burst, in the
// shared CounterStore so all replicas draw from one bucket), concurrent requests (an in-process
// counter: each replica enforces the limit on its own share of traffic), and for LLM routes
// tokens per minute and per day (fixed UTC windows in the CounterStore, filled from the
// upstream's reported usage when each request ends).
//
// Order of checks: concurrency (free to undo), then token windows (read-only), then request
// buckets (which consume). A request refused by the model's bucket after the principal's bucket
// admitted it has still used one principal token; the store has no refund, and the error is one
// request's worth at most.
import type { GatewayConfig, ModelConfig, QuotaLimits } from '../config/schema.js';
import type { QuotaLease, QuotaManager, QuotaRequest } from '../core/contracts.js';
import type { Logger } from '../core/logger.js';
import type { TokenUsage } from '../core/types.js';
import type { CounterStore } from '../store/types.js';
import { QuotaExceededError, type QuotaLimitKind, type QuotaScope } from './errors.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface QuotaManagerOptions {
  /** Clock, for tests. */
  now?: () => number;
  /** Where failures to record token usage are logged. */
  logger?: Logger;
  /** Datasets of the ingestion route with their own limits (config `datasets[].quotas`). */
  datasets?: readonly { name: string; quotas?: QuotaLimits }[];
}

/**
 * What the ingestion route passes as QuotaRequest.model for dataset `name`: a name no model can
 * have (model names have no `@`), so a dataset's limits and counters never mix with a model's.
 */
export function datasetQuotaName(name: string): string {
  return `${DATASET_MARK}${name}`;
}

const DATASET_MARK = 'dataset@';

interface Scope {
  scope: QuotaScope;
  /** Counter key prefix, e.g. `p:alice` or `m:chat`. */
  key: string;
  limits: QuotaLimits;
  /** The counter keys, made once: `rpm:` + key, and each of WINDOWS' prefixes + key, in its order. */
  rpmKey: string;
  windowKeys: readonly string[];
}

function scopeOf(scope: QuotaScope, key: string, limits: QuotaLimits): Scope {
  return { scope, key, limits, rpmKey: `rpm:${key}`, windowKeys: WINDOWS.map(([, prefix]) => prefix + key) };
}

/** Principals whose scopes are kept (past it the memo starts again), and models per principal. */
const SCOPE_MEMO_PRINCIPALS = 10_000;
const SCOPE_MEMO_MODELS = 1_000;

/** Time left in the fixed window of `windowMs` containing `now` (the store aligns windows to the epoch). */
function untilWindowEnd(windowMs: number, now: number): number {
  return windowMs - (now % windowMs);
}

function hasAny(l: QuotaLimits): boolean {
  return l.requestsPerMinute !== undefined || l.concurrent !== undefined || l.tokensPerMinute !== undefined || l.tokensPerDay !== undefined;
}

const WINDOWS = [
  ['tokensPerMinute', 'tpm:', MINUTE_MS],
  ['tokensPerDay', 'tpd:', DAY_MS],
] as const;

/**
 * Admissions are reserved ahead (acquireMany) only while every limit has at least MIN_ROOM free
 * (tokens in the request bucket, concurrency slots) and SPARE times the number reserved: a small
 * limit is never reserved from, so it stays exact, and near a large one reservations stop.
 */
const SPARE = 8;
const MIN_ROOM = 128;

function roomOf(free: number): number {
  return free < MIN_ROOM ? 0 : Math.floor(free / SPARE);
}

const NOOP_LEASE: QuotaLease = Object.freeze({ release: () => undefined });

export class StoreQuotaManager implements QuotaManager {
  private readonly inFlight = new Map<string, number>();
  private readonly modelLimits = new Map<string, QuotaLimits>();
  private readonly scopeMemo = new Map<string, Map<string, readonly Scope[]>>();
  private readonly principalLimits = new Map<string, QuotaLimits>();
  private readonly now: () => number;

  constructor(
    private readonly quotas: GatewayConfig['quotas'],
    models: readonly ModelConfig[],
    private readonly counters: CounterStore,
    private readonly opts: QuotaManagerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    for (const m of models) if (m.quotas && hasAny(m.quotas)) this.modelLimits.set(m.name, m.quotas);
    for (const d of opts.datasets ?? []) if (d.quotas && hasAny(d.quotas)) this.modelLimits.set(datasetQuotaName(d.name), d.quotas);
  }

  /** The principal's limits: its override merged over the defaults. */
  limitsFor(principal: string): QuotaLimits {
    let l = this.principalLimits.get(principal);
    if (!l) {
      const override = Object.hasOwn(this.quotas.principals, principal) ? this.quotas.principals[principal] : undefined;
      l = override ? { ...this.quotas.defaultPrincipal, ...override } : this.quotas.defaultPrincipal;
      if (this.principalLimits.size > 100_000) this.principalLimits.clear();
      this.principalLimits.set(principal, l);
    }
    return l;
  }

  /** Current in-process concurrency of a counter key (for tests and metrics). */
  inFlightCount(scope: 'principal' | 'model', name: string): number {
    return this.inFlight.get(`${scope === 'principal' ? 'p' : 'm'}:${name}`) ?? 0;
  }

  /** The scopes of a request, memoised per principal and model (the limits are fixed for this manager's life; never mutated). */
  private scopesOf(req: QuotaRequest): readonly Scope[] {
    let byModel = this.scopeMemo.get(req.principal);
    if (byModel === undefined) {
      if (this.scopeMemo.size >= SCOPE_MEMO_PRINCIPALS) this.scopeMemo.clear();
      byModel = new Map();
      this.scopeMemo.set(req.principal, byModel);
    }
    let scopes = byModel.get(req.model);
    if (scopes === undefined) {
      scopes = this.makeScopes(req);
      if (byModel.size < SCOPE_MEMO_MODELS) byModel.set(req.model, scopes);
    }
    return scopes;
  }

  private makeScopes(req: QuotaRequest): readonly Scope[] {
    const scopes: Scope[] = [];
    const pl = this.limitsFor(req.principal);
    if (hasAny(pl)) scopes.push(scopeOf('principal', `p:${req.principal}`, pl));
    const ml = this.modelLimits.get(req.model);
    if (ml) {
      const ds = req.model.startsWith(DATASET_MARK);
      scopes.push(ds ? scopeOf('dataset', `d:${req.model.slice(DATASET_MARK.length)}`, ml) : scopeOf('model', `m:${req.model}`, ml));
    }
    return scopes;
  }

  async acquireMany(req: QuotaRequest, max: number): Promise<QuotaLease[]> {
    const leases = [await this.acquire(req)];
    const extra = Math.min(Math.floor(max) - 1, this.spare(req));
    if (extra <= 0) return leases;
    const scopes = this.scopesOf(req);
    for (let i = 0; i < extra; i++) {
      // spare() > 0 means the counters are in memory: the synchronous path answers.
      let lease: QuotaLease | undefined;
      try {
        lease = scopes.length === 0 ? NOOP_LEASE : this.acquireSync(req, scopes);
      } catch {
        lease = undefined;
      }
      if (lease === undefined) break;
      leases.push(lease);
    }
    return leases;
  }

  /**
   * How many more admissions `req` may be given ahead of use: each limit that applies must have
   * MIN_ROOM and SPARE times that number free (concurrency slots, tokens in the request bucket), token
   * windows must be less than half used (their usage arrives only when requests end), and the
   * counters must be in this process (the write-behind cache: a reservation must cost no store
   * round trip, and an unused one is refunded). 0 otherwise.
   */
  private spare(req: QuotaRequest): number {
    const scopes = this.scopesOf(req);
    if (scopes.length === 0) return Number.MAX_SAFE_INTEGER;
    const c = this.counters;
    if (c.takeTokensSync === undefined || c.getWindowSync === undefined || c.refundTokensSync === undefined) return 0;
    const now = this.now();
    let room = Number.MAX_SAFE_INTEGER;
    for (const s of scopes) {
      const max = s.limits.concurrent;
      if (max !== undefined) room = Math.min(room, roomOf(max - (this.inFlight.get(s.key) ?? 0)));
      const rpm = s.limits.requestsPerMinute;
      if (rpm !== undefined) {
        const left = c.takeTokensSync(s.rpmKey, s.limits.burst ?? Math.max(1, rpm), rpm / MINUTE_MS, 0, now)?.remaining ?? 0;
        room = Math.min(room, roomOf(left));
      }
      if (req.countsTokens) {
        for (let w = 0; w < WINDOWS.length; w++) {
          const [kind, , windowMs] = WINDOWS[w]!;
          const limit = s.limits[kind];
          if (limit === undefined) continue;
          const used = c.getWindowSync(s.windowKeys[w]!, windowMs, now);
          if (used === undefined || used * 2 >= limit) return 0;
        }
      }
    }
    return Math.max(0, room);
  }

  tryAcquireSync(req: QuotaRequest): QuotaLease | undefined {
    const scopes = this.scopesOf(req);
    if (scopes.length === 0) return NOOP_LEASE;
    if (this.counters.takeTokensSync === undefined || this.counters.getWindowSync === undefined) return undefined;
    return this.acquireSync(req, scopes);
  }

  acquire(req: QuotaRequest): Promise<QuotaLease> {
    // No limits at all, or counters already in this process: answered without a store round trip
    // or promise chain (tryAcquireSync); otherwise ask the store.
    let lease: QuotaLease | undefined;
    try {
      lease = this.tryAcquireSync(req);
    } catch (e) {
      return Promise.reject(e);
    }
    return lease !== undefined ? Promise.resolve(lease) : this.acquireScoped(req, this.scopesOf(req));
  }

  /**
   * acquireScoped() without awaiting, for counters held in memory: the same checks in the same
   * order, or `undefined` (nothing taken) when one of the counters must first be read from the store.
   */
  private acquireSync(req: QuotaRequest, scopes: readonly Scope[]): QuotaLease | undefined {
    const counters = this.counters as Required<CounterStore>;
    const now = this.now();
    // Read-only lookups first, so that falling back to the async path has consumed nothing.
    if (req.countsTokens) {
      for (const s of scopes) {
        for (let w = 0; w < WINDOWS.length; w++) {
          const [kind, , windowMs] = WINDOWS[w]!;
          const limit = s.limits[kind];
          if (limit === undefined) continue;
          const used = counters.getWindowSync(s.windowKeys[w]!, windowMs, now);
          if (used === undefined) return undefined;
          if (used >= limit) throw new QuotaExceededError(kind, s.scope, untilWindowEnd(windowMs, now));
        }
      }
    }
    for (const s of scopes) {
      const rpm = s.limits.requestsPerMinute;
      if (rpm === undefined) continue;
      // A bucket not in memory yet (cost 0 only asks): the async path seeds it from the store.
      if (counters.takeTokensSync(s.rpmKey, s.limits.burst ?? Math.max(1, rpm), rpm / MINUTE_MS, 0, now) === undefined) return undefined;
    }
    const held: string[] = [];
    try {
      this.takeConcurrency(scopes, held);
      for (const s of scopes) {
        const rpm = s.limits.requestsPerMinute;
        if (rpm === undefined) continue;
        const capacity = s.limits.burst ?? Math.max(1, rpm);
        const r = counters.takeTokensSync(s.rpmKey, capacity, rpm / MINUTE_MS, 1, now)!;
        if (!r.allowed) throw new QuotaExceededError('requestsPerMinute', s.scope, r.retryAfterMs);
      }
    } catch (e) {
      for (const k of held) this.decrement(k);
      throw e;
    }
    return this.lease(req, scopes, held);
  }

  /** Takes a concurrency slot in every scope with a limit (their keys pushed to `held`), or throws. */
  private takeConcurrency(scopes: readonly Scope[], held: string[]): void {
    for (const s of scopes) {
      const max = s.limits.concurrent;
      if (max === undefined) continue;
      const cur = this.inFlight.get(s.key) ?? 0;
      // A concurrency refusal has no natural retry time; one second is the smallest Retry-After.
      if (cur >= max) throw new QuotaExceededError('concurrent', s.scope, 1000);
      this.inFlight.set(s.key, cur + 1);
      held.push(s.key);
    }
  }

  private async acquireScoped(req: QuotaRequest, scopes: readonly Scope[]): Promise<QuotaLease> {
    const held: string[] = [];
    const undo = (): void => {
      for (const k of held) this.decrement(k);
    };
    try {
      this.takeConcurrency(scopes, held);
      const now = this.now();
      if (req.countsTokens) {
        for (const s of scopes) {
          for (let w = 0; w < WINDOWS.length; w++) {
            const [kind, , windowMs] = WINDOWS[w]!;
            await this.checkWindow(s, kind, s.windowKeys[w]!, windowMs, now);
          }
        }
      }
      for (const s of scopes) {
        const rpm = s.limits.requestsPerMinute;
        if (rpm === undefined) continue;
        const capacity = s.limits.burst ?? Math.max(1, rpm);
        const r = await this.counters.takeTokens(s.rpmKey, capacity, rpm / MINUTE_MS, 1, now);
        if (!r.allowed) throw new QuotaExceededError('requestsPerMinute', s.scope, r.retryAfterMs);
      }
    } catch (e) {
      undo();
      throw e;
    }
    return this.lease(req, scopes, held);
  }

  private async checkWindow(s: Scope, kind: QuotaLimitKind, key: string, windowMs: number, now: number): Promise<void> {
    const limit = s.limits[kind as 'tokensPerMinute' | 'tokensPerDay'];
    if (limit === undefined) return;
    const used = await this.counters.getWindow(key, windowMs, now);
    if (used >= limit) throw new QuotaExceededError(kind, s.scope, untilWindowEnd(windowMs, now));
  }

  private decrement(key: string): void {
    const n = (this.inFlight.get(key) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, n);
  }

  private lease(req: QuotaRequest, scopes: readonly Scope[], held: string[]): QuotaLease {
    let released = false;
    return {
      cancel: (): void => {
        if (released) return;
        released = true;
        for (const k of held) this.decrement(k);
        for (const s of scopes) if (s.limits.requestsPerMinute !== undefined) this.counters.refundTokensSync?.(s.rpmKey, 1);
      },
      release: (usage?: TokenUsage | null): void => {
        if (released) return;
        released = true;
        for (const k of held) this.decrement(k);
        if (!req.countsTokens || !usage) return;
        const total = Number.isFinite(usage.totalTokens) && usage.totalTokens > 0 ? Math.floor(usage.totalTokens) : 0;
        if (total === 0) return;
        const now = this.now();
        for (const s of scopes) {
          for (let w = 0; w < WINDOWS.length; w++) {
            const [kind, , windowMs] = WINDOWS[w]!;
            if (s.limits[kind] !== undefined) this.record(s.windowKeys[w]!, windowMs, total, now);
          }
        }
      },
    };
  }

  private record(key: string, windowMs: number, amount: number, now: number): void {
    if (this.counters.addToWindowSync?.(key, windowMs, amount, now) !== undefined) return;
    this.counters.addToWindow(key, windowMs, amount, now).catch((err: unknown) => {
      this.opts.logger?.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, key }, 'could not record token usage');
    });
  }
}
