// The guard pipeline: builds the configured guards once at start-up (options validated by each
// factory's schema), picks per request the guards for its route and model, runs them in order with
// a time limit each, and alone decides what a verdict does: shadow mode records and never acts,
// onError turns a failure into a block (fail closed, the default) or a pass (fail open), and a
// redaction is applied by the guard's own `apply()`. Every verdict is recorded (audit entry, event,
// metrics, response header) by the caller from the `GuardRun`s this file appends.
/* eslint-disable @typescript-eslint/no-explicit-any -- factories carry their own options types */
import { performance } from 'node:perf_hooks';
import type { ZodIssue } from 'zod';
import type { GuardConfig } from '../config/schema.js';
import type { RampartError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Severity } from '../core/types.js';
import { GuardBlockedError, GuardConfigInvalidError, GuardFailedError, GuardThrottledError } from './errors.js';
import { compileGlobs } from './glob.js';
import type { GuardMetrics } from './metrics.js';
import { guardFactories } from './registry.js';
import {
  GUARD_ACTIONS,
  type Guard,
  type GuardAction,
  type GuardContext,
  type GuardEnv,
  type GuardFactory,
  type GuardPhase,
  type GuardReason,
  type GuardVerdict,
  type GuardVerdictEventData,
  type RequestInput,
  type ResponseInput,
} from './types.js';

/** What one guard did in one phase of one request (audit entry, event, metrics, header). */
export interface GuardRun {
  name: string;
  kind: string;
  phase: GuardPhase | 'stream';
  action: GuardAction | 'error';
  shadow: boolean;
  score: number | null;
  reasons: GuardReason[];
  /** Time spent in the guard, milliseconds. */
  ms: number;
}

/** One configured guard, ready to run. */
export interface GuardSlot {
  readonly guard: Guard;
  readonly name: string;
  readonly kind: string;
  readonly shadow: boolean;
  /** onError: allow. */
  readonly failOpen: boolean;
  readonly timeoutMs: number;
  readonly routes: ((s: string) => boolean) | null;
  readonly models: (s: string) => boolean;
}

/** The guards that apply to one route and model, per phase, in config order. */
export interface GuardSelection {
  readonly request: readonly GuardSlot[];
  readonly response: readonly GuardSlot[];
  /** Guards with `openStream` (they scan streamed responses). */
  readonly stream: readonly GuardSlot[];
}

/** Something that says when the client went away (the gateway's UpstreamAbort). */
export interface ClientGone {
  readonly aborted: boolean;
  once(event: 'abort', fn: () => void): unknown;
  off(event: 'abort', fn: () => void): unknown;
}

/** The request facts every check is told, without the per-guard signal. */
export type BaseContext = Omit<GuardContext, 'signal'>;

export interface PhaseResult {
  /** An enforcing guard rewrote the body (re-serialise it once). */
  changed: boolean;
}

const MAX_MEMO = 4096;
const DEFAULT_SEVERITY: Record<GuardAction | 'error', Severity> = { block: 'high', redact: 'medium', flag: 'low', allow: 'info', error: 'medium' };

function issuePath(i: number, issue: ZodIssue): string {
  let p = `guards[${i}].options`;
  for (const k of issue.path) p += typeof k === 'number' ? `[${k}]` : `.${k}`;
  return p;
}

/** A guard that broke its contract (bad verdict) or failed: the cause is logged, not shown. */
class GuardCheckError extends Error {}

export class GuardPipeline {
  private readonly memo = new Map<string, GuardSelection | null>();
  private metrics: GuardMetrics | null = null;

  private constructor(
    readonly slots: readonly GuardSlot[],
    private readonly env: GuardEnv,
    private readonly logger: Logger,
  ) {}

  /**
   * Builds the guards of `configs` (config order). Throws RAMPART_ERR_GUARD_CONFIG_INVALID naming
   * `guards[i].options.<path>` for bad options, or an unknown `type`. Returns null for an empty list.
   */
  static async build(configs: readonly GuardConfig[], env: GuardEnv, extraFactories: readonly GuardFactory<any>[] = []): Promise<GuardPipeline | null> {
    if (configs.length === 0) return null;
    const factories = guardFactories(extraFactories);
    const slots: GuardSlot[] = [];
    try {
      for (const [i, c] of configs.entries()) {
        const f = factories.get(c.type);
        if (!f) {
          throw new GuardConfigInvalidError(`guards[${i}].type: unknown guard kind "${c.type}" (known: ${[...factories.keys()].join(', ') || 'none'}; see \`rampart guards list\`)`);
        }
        const parsed = f.options.safeParse(c.options);
        if (!parsed.success) {
          const first = parsed.error.issues[0]!;
          const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
          throw new GuardConfigInvalidError(`${issuePath(i, first)}: ${first.message}${more}`, {
            details: { guard: c.name ?? c.type, issues: parsed.error.issues.map((x) => ({ path: issuePath(i, x), message: x.message })) },
          });
        }
        const name = c.name ?? c.type;
        let guard: Guard;
        try {
          guard = await f.create(name, parsed.data, env);
        } catch (e) {
          if (e instanceof GuardConfigInvalidError) throw e;
          const code = (e as { code?: unknown }).code;
          throw new GuardConfigInvalidError(`guards[${i}] (${name}): the guard could not be created: ${typeof code === 'string' ? `${code}: ` : ''}${(e as Error).message}`, { cause: e });
        }
        slots.push({
          guard,
          name,
          kind: f.kind,
          shadow: c.mode === 'shadow',
          failOpen: c.onError === 'allow',
          timeoutMs: c.timeout,
          routes: c.routes ? compileGlobs(c.routes) : null,
          models: compileGlobs(c.models),
        });
      }
    } catch (e) {
      await Promise.all(slots.map((s) => s.guard.close?.().catch(() => undefined)));
      throw e;
    }
    return new GuardPipeline(slots, env, env.logger);
  }

  bindMetrics(metrics: GuardMetrics): void {
    this.metrics = metrics;
  }

  /** The guards for a route and model, or null when none applies (memoised: the common case costs one lookup). */
  select(route: string, protocol: GuardContext['protocol'], model: string): GuardSelection | null {
    const key = `${route}\u0000${model}`;
    let sel = this.memo.get(key);
    if (sel !== undefined) return sel;
    const on = this.slots.filter((s) => (s.routes === null || s.routes(route)) && s.models(model) && s.guard.supports(route, protocol));
    const request = on.filter((s) => typeof s.guard.checkRequest === 'function');
    const response = on.filter((s) => typeof s.guard.checkResponse === 'function');
    const stream = on.filter((s) => typeof s.guard.openStream === 'function');
    sel = request.length || response.length || stream.length ? { request, response, stream } : null;
    if (this.memo.size < MAX_MEMO) this.memo.set(key, sel);
    return sel;
  }

  /**
   * Runs the request guards in order. Throws the refusal (GuardBlockedError, GuardThrottledError,
   * GuardFailedError) of the first enforcing guard that blocks or fails closed.
   */
  runRequest(slots: readonly GuardSlot[], input: Omit<RequestInput, 'signal'>, runs: GuardRun[], gone?: ClientGone): Promise<PhaseResult> {
    return this.runPhase('request', slots, input, runs, gone, (g, i) => g.checkRequest!(i as RequestInput));
  }

  /** Runs the response guards in order; same refusals as `runRequest`. */
  runResponse(slots: readonly GuardSlot[], input: Omit<ResponseInput, 'signal'>, runs: GuardRun[], gone?: ClientGone): Promise<PhaseResult> {
    return this.runPhase('response', slots, input, runs, gone, (g, i) => g.checkResponse!(i as ResponseInput));
  }

  private async runPhase(
    phase: GuardPhase,
    slots: readonly GuardSlot[],
    input: BaseContext & object,
    runs: GuardRun[],
    gone: ClientGone | undefined,
    check: (g: Guard, input: GuardContext) => GuardVerdict | Promise<GuardVerdict>,
  ): Promise<PhaseResult> {
    let changed = false;
    for (const slot of slots) {
      const t0 = performance.now();
      let verdict: GuardVerdict | null = null;
      let error: unknown = null;
      try {
        verdict = await this.timed(slot, gone, (signal) => check(slot.guard, { ...input, signal }));
        // A redaction is applied at once, so the next guard sees the rewritten body.
        if (!slot.shadow && verdict.apply && (verdict.action === 'redact' || verdict.action === 'flag')) {
          verdict.apply();
          changed = true;
        } else if (!slot.shadow && verdict.action === 'redact' && !verdict.apply) {
          throw new GuardCheckError('a redact verdict without apply()');
        }
      } catch (e) {
        error = e;
      }
      const run = this.record(slot, phase, input, verdict, error, performance.now() - t0);
      runs.push(run);
      if (error !== null) {
        if (!slot.shadow && !slot.failOpen) throw this.failed(slot, phase);
        continue;
      }
      if (verdict!.action === 'block' && !slot.shadow) throw this.refusal(slot, verdict!);
    }
    return { changed };
  }

  /** Runs one check under the slot's time limit, aborting its signal on timeout or when the client goes. */
  private async timed<V>(slot: GuardSlot, gone: ClientGone | undefined, fn: (signal: AbortSignal) => V | Promise<V>): Promise<V & GuardVerdict> {
    const ac = new AbortController();
    const onGone = (): void => ac.abort(new GuardCheckError('the client went away'));
    if (gone) {
      if (gone.aborted) onGone();
      else gone.once('abort', onGone);
    }
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    try {
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const e = new GuardCheckError(`timed out after ${slot.timeoutMs} ms`);
          ac.abort(e);
          reject(e);
        }, slot.timeoutMs);
      });
      const v = (await Promise.race([Promise.resolve().then(() => fn(ac.signal)), limit])) as V & GuardVerdict;
      // A synchronous check that kept the event loop past its limit is a timeout too.
      if (performance.now() - t0 > slot.timeoutMs) throw new GuardCheckError(`timed out after ${slot.timeoutMs} ms`);
      if (!v || typeof v !== 'object' || !GUARD_ACTIONS.includes(v.action) || !Array.isArray(v.reasons)) throw new GuardCheckError('the guard returned no valid verdict');
      return v;
    } finally {
      clearTimeout(timer);
      gone?.off('abort', onGone);
    }
  }

  /** Records one outcome: metrics, the `guard.verdict` event (non-allow and errors), a log line for errors. */
  record(slot: GuardSlot, phase: GuardRun['phase'], ctx: BaseContext, verdict: GuardVerdict | null, error: unknown, ms: number): GuardRun {
    const action: GuardRun['action'] = error !== null || !verdict ? 'error' : verdict.action;
    const run: GuardRun = {
      name: slot.name,
      kind: slot.kind,
      phase,
      action,
      shadow: slot.shadow,
      score: typeof verdict?.score === 'number' && Number.isFinite(verdict.score) ? verdict.score : null,
      reasons: verdict && error === null ? verdict.reasons : [{ code: 'guard.error', message: errorText(error) }],
      ms,
    };
    if (error !== null) {
      this.logger.warn(
        { code: GuardFailedError.code, guard: slot.name, kind: slot.kind, phase, requestId: ctx.requestId, err: { message: errorText(error), code: (error as { code?: unknown })?.code } },
        'guard failed',
      );
    }
    this.publish(run, ctx, verdict?.severity);
    return run;
  }

  /** Metrics and event of a finished run (also used for stream filters, whose runs are summed). */
  publish(run: GuardRun, ctx: BaseContext, severity?: Severity): void {
    const m = this.metrics;
    if (m) {
      m.verdicts.labels({ guard: run.name, kind: run.kind, phase: run.phase, action: run.action, shadow: String(run.shadow) }).inc();
      m.duration.labels({ guard: run.name, phase: run.phase }).observe(run.ms / 1000);
      if (run.action === 'error') m.errors.labels({ guard: run.name }).inc();
    }
    if (run.action === 'allow') return;
    const data: GuardVerdictEventData = {
      requestId: ctx.requestId,
      route: ctx.route,
      guard: run.name,
      kind: run.kind,
      phase: run.phase,
      action: run.action,
      shadow: run.shadow,
      score: run.score,
      reasons: run.reasons.map((r) => ({ code: r.code, message: r.message })),
      ms: round3(run.ms),
    };
    try {
      this.env.emit({
        type: 'guard.verdict',
        source: 'gateway',
        time: ctx.now,
        principal: ctx.principal.id,
        model: ctx.model.name,
        sourceIp: ctx.sourceIp,
        severity: severity ?? DEFAULT_SEVERITY[run.action],
        data: data as unknown as Record<string, unknown>,
      });
    } catch (e) {
      this.logger.error({ err: e }, 'guard.verdict event not published');
    }
  }

  /**
   * The body of this phase cannot be given to its guards (too large, not JSON, binary tensors):
   * each guard records an error, and the first enforcing fail-closed one refuses the call.
   */
  unscannable(phase: GuardRun['phase'], slots: readonly GuardSlot[], ctx: BaseContext, runs: GuardRun[], why: string): void {
    let refuse: RampartError | null = null;
    for (const slot of slots) {
      runs.push(this.record(slot, phase, ctx, null, new GuardCheckError(why), 0));
      if (!refuse && !slot.shadow && !slot.failOpen) refuse = this.failed(slot, phase === 'stream' ? 'response' : phase);
    }
    if (refuse) throw refuse;
  }

  /** The refusal a blocking verdict turns into: 429 with Retry-After when the guard throttles. */
  refusal(slot: GuardSlot, v: GuardVerdict): Error {
    const codes = [...new Set(v.reasons.map((r) => r.code))];
    const why = codes.length ? ` (${codes.join(', ')})` : '';
    if (v.status === 429) {
      const retry = typeof v.retryAfterSeconds === 'number' && Number.isFinite(v.retryAfterSeconds) ? Math.max(1, Math.ceil(v.retryAfterSeconds)) : 1;
      return new GuardThrottledError(`too many requests: throttled by guard "${slot.name}"${why}`, { details: { guard: slot.name, reasons: codes, retryAfterSeconds: retry } });
    }
    return new GuardBlockedError(`refused by guard "${slot.name}"${why}`, { details: { guard: slot.name, reasons: codes } });
  }

  failed(slot: GuardSlot, phase: GuardPhase): RampartError {
    return new GuardFailedError(`the ${phase} could not be checked by guard "${slot.name}" (it failed or timed out, and fails closed)`, { details: { guard: slot.name } });
  }

  async close(): Promise<void> {
    for (const s of this.slots) {
      try {
        await s.guard.close?.();
      } catch (e) {
        this.logger.error({ err: e, guard: s.name }, 'guard close failed');
      }
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof GuardCheckError) return e.message;
  const code = (e as { code?: unknown })?.code;
  // A guard's own error message may quote the input; only a coded error's code is kept.
  return typeof code === 'string' ? `the guard threw ${code}` : 'the guard threw an error';
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
