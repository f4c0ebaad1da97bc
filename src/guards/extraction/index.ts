// The `extraction` guard: model-extraction defence per principal on KServe v2 infer routes.
// Three signals, each of which, when it fires, records a high-severity `guard.verdict` (the
// monitor turns it into an alert) and puts the principal under a penalty: throttled (429 with
// Retry-After) or blocked (403) for `onDetect.duration`.
// - PRADA (src/detect/extraction/prada.ts) on the input rows and the classes the model predicted
//   for them (response phase, so the guard sees the model's own answer);
// - a query-volume budget per window (request phase, counted in the store's atomic counters);
// - input-space coverage: distinct random-hyperplane cells visited (response phase).
// State (growing sets, distances, cells, penalties) lives in the store's guard-state table; see
// state.ts for how it is cached and shared. docs/guards.md, section "extraction".
import { z } from 'zod';
import { duration } from '../../config/zod-units.js';
import { coverageCell, coverageGrid, type CoverageGrid } from '../../detect/extraction/coverage.js';
import { DEFAULT_PRADA_OPTIONS, type PradaObservation } from '../../detect/extraction/prada.js';
import { WriteBehindCounters } from '../../quota/write-behind.js';
import type { CounterStore } from '../../store/types.js';
import type { Guard, GuardContext, GuardEnv, GuardFactory, GuardVerdict, RequestInput, ResponseInput } from '../types.js';
import { ExtractionUnreadableError } from './errors.js';
import { inputRows, predictedClasses, requestRows } from './kserve.js';
import { ExtractionStateCache, type Penalty } from './state.js';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const extractionOptionsSchema = z
  .object({
    /** Name of the input tensor to watch (default: the first input). */
    input: z.string().min(1).optional(),
    /** Name of the integer label output (default: the first integer [N] output, else arg-max of the first [N, C] scores). */
    labelOutput: z.string().min(1).optional(),
    prada: z
      .object({
        enabled: z.boolean().default(true),
        /** Fire when the Shapiro–Wilk W of the distance set is below this. */
        delta: z.number().gt(0).lt(1).default(DEFAULT_PRADA_OPTIONS.delta),
        minDistances: int(20, 5000).default(DEFAULT_PRADA_OPTIONS.minDistances),
        maxDistances: int(50, 5000).default(DEFAULT_PRADA_OPTIONS.maxDistances),
        maxPointsPerClass: int(10, 10_000).default(DEFAULT_PRADA_OPTIONS.maxPointsPerClass),
        maxDimensions: int(8, 65_536).default(DEFAULT_PRADA_OPTIONS.maxDimensions),
        /** Test on every n-th new distance (1: every query, as in the paper). */
        testEvery: int(1, 1000).default(DEFAULT_PRADA_OPTIONS.testEvery),
      })
      .strict()
      .default({}),
    budget: z
      .object({
        enabled: z.boolean().default(true),
        window: duration.default('1h'),
        /** Input rows (queries) a principal may send per window. */
        maxQueries: int(1, 1e12).default(10_000),
      })
      .strict()
      .default({}),
    coverage: z
      .object({
        enabled: z.boolean().default(true),
        /** Random hyperplanes: the space has 2^bits cells. */
        bits: int(4, 24).default(12),
        /** Fire when a principal has visited more distinct cells than this (default: half of the 2^12 cells). */
        maxCells: int(1, 1_000_000).default(2048),
        /** Centre of the hyperplanes: `row-mean` (each input's own mean), one number for every feature, or one per feature (e.g. the mean of legitimate inputs). */
        centre: z.union([z.literal('row-mean'), z.number(), z.array(z.number()).min(1)]).default('row-mean'),
        seed: int(0, 2 ** 31).default(1),
      })
      .strict()
      .default({}),
    onDetect: z
      .object({
        /** throttle: 429 with Retry-After; block: 403. */
        action: z.enum(['throttle', 'block']).default('throttle'),
        duration: duration.default('15m'),
      })
      .strict()
      .default({}),
    state: z
      .object({
        /** A principal's detector state is forgotten after this long without queries. */
        ttl: duration.default('24h'),
        /** How often cached state is written to the store. */
        flushInterval: duration.default('1s'),
        /** How often a replica re-reads a principal's penalty from the store. */
        penaltyRecheck: duration.default('1s'),
        maxPrincipals: int(10, 10_000_000).default(10_000),
      })
      .strict()
      .default({}),
  })
  .strict();

export type ExtractionOptions = z.infer<typeof extractionOptionsSchema>;

class ExtractionGuard implements Guard {
  readonly kind = 'extraction';
  private readonly cache: ExtractionStateCache;
  private readonly counters: CounterStore;
  private readonly writeBehind: WriteBehindCounters | null;
  private readonly grids = new Map<number, CoverageGrid>();

  constructor(
    readonly name: string,
    private readonly o: ExtractionOptions,
    private readonly env: GuardEnv,
  ) {
    this.cache = new ExtractionStateCache(
      env.store.guardState,
      {
        ttlMs: o.state.ttl,
        flushMs: Math.max(10, o.state.flushInterval),
        penaltyRecheckMs: o.state.penaltyRecheck,
        prada: { ...DEFAULT_PRADA_OPTIONS, ...o.prada, maxDistances: Math.max(o.prada.maxDistances, o.prada.minDistances) },
        maxCells: o.coverage.maxCells,
        maxEntries: o.state.maxPrincipals,
      },
      env.logger,
    );
    if (!env.store.guardState) env.logger.warn({ guard: name }, 'extraction guard: the store keeps no guard state; detector state is in memory only');
    // The embedded store counts in memory and writes back every second (as quotas do); server
    // stores count atomically per request so replicas share one budget.
    this.writeBehind = env.store.kind === 'sqlite' ? new WriteBehindCounters(env.store.counters, { logger: env.logger }) : null;
    this.counters = this.writeBehind ?? env.store.counters;
  }

  supports(route: string, protocol: GuardContext['protocol']): boolean {
    return protocol === 'kserve' && route === 'kserve.infer';
  }

  private key(ctx: GuardContext): string {
    return `extraction/${this.name}/${ctx.model.name}/${ctx.principal.id}`;
  }

  private refuse(penalty: Penalty, now: number, severity: GuardVerdict['severity'], reason: { code: string; message: string }, score: number): GuardVerdict {
    const throttle = this.o.onDetect.action === 'throttle';
    return {
      action: 'block',
      status: throttle ? 429 : 403,
      ...(throttle ? { retryAfterSeconds: Math.max(1, Math.ceil((penalty.until - now) / 1000)) } : {}),
      severity,
      score,
      reasons: [reason],
    };
  }

  async checkRequest(input: RequestInput): Promise<GuardVerdict> {
    const key = this.key(input);
    const now = input.now;
    const active = await this.cache.penalty(key, now);
    if (active) {
      return this.refuse(active, now, 'medium', { code: 'extraction.penalty', message: `principal is under an extraction penalty (${active.reason}) until ${new Date(active.until).toISOString()}` }, 1);
    }
    if (!this.o.budget.enabled) return { action: 'allow', reasons: [] };
    const rows = requestRows(input.body, this.o.input);
    const windowMs = this.o.budget.window;
    const total = await this.counters.addToWindow(`${key}/budget`, windowMs, rows, now);
    const max = this.o.budget.maxQueries;
    if (total <= max) return { action: 'allow', score: total / max, reasons: [] };
    const windowEnd = (Math.floor(now / windowMs) + 1) * windowMs;
    const penalty: Penalty = { until: windowEnd, reason: 'extraction.budget' };
    await this.cache.setPenalty(key, penalty, now);
    // The request that crossed the budget raises the alert; later ones are the penalty's.
    return this.refuse(penalty, now, 'high', { code: 'extraction.budget', message: `query budget exceeded: ${total} rows in the current ${windowMs / 1000} s window (limit ${max})` }, total / max);
  }

  async checkResponse(input: ResponseInput): Promise<GuardVerdict> {
    const rows = inputRows(input.requestBody, this.o.input);
    if (!rows) throw new ExtractionUnreadableError('the request has no numeric input tensor the extraction guard can read');
    const classes = predictedClasses(input.body, rows.rows, this.o.labelOutput);
    if (!classes) throw new ExtractionUnreadableError('the response has no label or score output the extraction guard can read');
    const key = this.key(input);
    const entry = await this.cache.get(key, input.now);
    let worst: PradaObservation['test'] = null;
    let fired: { code: string; message: string; score: number } | null = null;
    let cells = entry.state.cells.length;
    for (let r = 0; r < rows.rows; r++) {
      const x = rows.values.slice(r * rows.features, (r + 1) * rows.features);
      if (this.o.prada.enabled) {
        const obs = this.cache.observe(entry, { kind: 'query', x, cls: classes[r]! }) as PradaObservation;
        if (obs.test && (!worst || obs.test.w < worst.w)) worst = obs.test;
        if (obs.fired && !fired) {
          fired = {
            code: 'extraction.prada',
            message: `distances between this principal's queries are not normally distributed (Shapiro-Wilk W = ${obs.test!.w.toFixed(3)} < ${this.o.prada.delta} over ${obs.test!.n} distances)`,
            score: 1 - obs.test!.w,
          };
        }
      }
      if (this.o.coverage.enabled) {
        cells = this.cache.observe(entry, { kind: 'cell', cell: coverageCell(this.grid(rows.features), x) }) as number;
        if (cells > this.o.coverage.maxCells && !fired) {
          fired = { code: 'extraction.coverage', message: `principal has explored more than ${this.o.coverage.maxCells} cells of the input space`, score: cells / this.o.coverage.maxCells };
        }
      }
    }
    if (!fired) return { action: 'allow', score: worst ? 1 - worst.w : 0, reasons: [] };
    // A fresh start after the penalty: the same history must not fire again at once.
    this.cache.reset(entry);
    const penalty: Penalty = { until: input.now + this.o.onDetect.duration, reason: fired.code };
    await this.cache.setPenalty(key, penalty, input.now);
    return this.refuse(penalty, input.now, 'high', { code: fired.code, message: fired.message }, fired.score);
  }

  private grid(dims: number): CoverageGrid {
    let g = this.grids.get(dims);
    if (!g) {
      const c = this.o.coverage.centre;
      const centre = c === 'row-mean' ? c : typeof c === 'number' ? new Array<number>(dims).fill(c) : c.length === dims ? c : undefined;
      if (Array.isArray(c) && c.length !== dims) this.env.logger.warn({ guard: this.name, dims, centre: c.length }, 'extraction guard: coverage.centre has another length than the input; using the origin');
      g = coverageGrid(dims, this.o.coverage.bits, this.o.coverage.seed, centre);
      if (this.grids.size < 16) this.grids.set(dims, g);
    }
    return g;
  }

  async close(): Promise<void> {
    await this.cache.close();
    await this.writeBehind?.close();
  }
}

export const extractionGuardFactory: GuardFactory<ExtractionOptions> = {
  kind: 'extraction',
  description: 'Model-extraction defence per principal on KServe v2 routes: PRADA, query budgets, input-space coverage; throttles or blocks on detection',
  options: extractionOptionsSchema,
  create: (name, options, env) => new ExtractionGuard(name, options, env),
};
