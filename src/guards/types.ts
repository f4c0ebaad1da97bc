// The contract between the gateway's guard pipeline (src/guards/pipeline.ts) and the guards
// (src/guards/<kind>/). A guard is a small unit with a name, the phases it runs in, a validated
// config and checks that return a verdict. The pipeline alone decides what a verdict does:
// thresholds are the guard's business (it turns a score into an action), while shadow mode,
// fail-open/fail-closed, time limits, recording (audit, events, metrics, response header) and
// applying a redaction are the pipeline's. Guards never write to the client themselves.
import type { z } from 'zod';
import type { ModelConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Principal, Severity } from '../core/types.js';
import type { NewEvent } from '../events/schema.js';
import type { Store } from '../store/types.js';
import type { TextPart } from './text.js';

export const GUARD_ACTIONS = ['allow', 'flag', 'redact', 'block'] as const;
/**
 * What a guard asks for. `allow`: nothing found. `flag`: suspicious, record it and let it through.
 * `redact`: let it through after `apply()` rewrote the offending parts. `block`: refuse it.
 */
export type GuardAction = (typeof GUARD_ACTIONS)[number];

export type GuardPhase = 'request' | 'response';

/** One reason for a verdict: a stable dotted code (documented in docs/guards.md) and a short text. */
export interface GuardReason {
  /** e.g. `injection.instruction-override`, `pii.card`, `tensor.shape`, `extraction.prada`. */
  code: string;
  /** Human text; never the matched secret or personal data itself. */
  message: string;
  /** Where: a JSON pointer into the body (`/messages/2/content`) or an SSE channel name. */
  where?: string;
}

export interface GuardVerdict {
  action: GuardAction;
  /** The guard's own score (higher = more suspicious), already compared with its threshold. */
  score?: number;
  reasons: GuardReason[];
  /**
   * For `redact` (and optionally `flag`): performs the rewrite on the body the guard was given. The
   * pipeline calls it only when the guard is enforcing (never in shadow mode), then re-serialises.
   */
  apply?: () => void;
  /** For `block`: 403 (default) or 429 when the guard throttles (extraction budgets). */
  status?: 403 | 429;
  /** For a 429 block: seconds until the caller may try again (sent as Retry-After). */
  retryAfterSeconds?: number;
  /** Severity of the `guard.verdict` event (default: block high, redact medium, flag low). */
  severity?: Severity;
}

/** What every check is told about the request. */
export interface GuardContext {
  requestId: string;
  /** Route id from src/gateway/routes.ts, e.g. `openai.chat.completions`, `kserve.infer`. */
  route: string;
  protocol: 'openai' | 'kserve' | 'generic';
  model: ModelConfig;
  principal: Principal;
  sourceIp: string;
  /** Milliseconds since the epoch when the request arrived. */
  now: number;
  /** Aborted when the guard's time limit is over or the client went away. */
  signal: AbortSignal;
}

export interface ModelCallResult {
  status: number;
  body: unknown;
}

export interface RequestInput extends GuardContext {
  /** The parsed JSON request body. Mutate it only inside `verdict.apply`. */
  body: Record<string, unknown>;
  /** Every text an LLM will read in this request (src/guards/text.ts); empty for tensor routes. */
  texts(): TextPart[];
  /**
   * Sends another body to the same model and upstream (for checks that query the model, such as
   * feature squeezing). Not audited as a separate request; fails when the route is not an infer route.
   */
  callModel(body: Record<string, unknown>): Promise<ModelCallResult>;
}

export interface ResponseInput extends GuardContext {
  /** The upstream's status code. Response guards run on 2xx JSON responses only. */
  status: number;
  /** The parsed JSON response body. Mutate it only inside `verdict.apply`. */
  body: unknown;
  /** The request body as it was sent upstream. */
  requestBody: Record<string, unknown>;
  /** Every text of the response a client will read (choices, output items, tool-call arguments). */
  texts(): TextPart[];
}

/**
 * Scans the text of a streamed (SSE) response as it arrives. The pipeline splits the stream into
 * channels (one per choice index / output item) and calls `push` with each text delta in order; the
 * filter returns the text that is safe to release now (it may hold back a tail that could be the
 * start of a match, and never more than `maxHoldBack` characters) with the released text rewritten
 * when it redacts. `end` releases what is left. A `block` verdict ends the stream with an error event.
 */
export interface StreamTextFilter {
  readonly maxHoldBack: number;
  push(channel: string, text: string): StreamStep;
  end(channel: string): StreamStep;
}

export interface StreamStep {
  release: string;
  /** Set when something was found in this step (redacted in `release`, or a block). */
  verdict?: GuardVerdict;
}

export interface Guard {
  /** Instance name from the config (defaults to the kind); unique in the config. */
  readonly name: string;
  /** The guard kind, e.g. `prompt-injection`, `pii`, `tensor`, `extraction`, `output-hardening`. */
  readonly kind: string;
  /** Whether the guard can say something about this route at all (the config may narrow it further). */
  supports(route: string, protocol: GuardContext['protocol']): boolean;
  checkRequest?(input: RequestInput): GuardVerdict | Promise<GuardVerdict>;
  checkResponse?(input: ResponseInput): GuardVerdict | Promise<GuardVerdict>;
  /** A new filter for one streamed response, or null when the guard does not scan streams. */
  openStream?(ctx: GuardContext): StreamTextFilter | null;
  close?(): Promise<void>;
}

/** What a guard factory gets besides its own options. */
export interface GuardEnv {
  logger: Logger;
  /** The gateway's store; guards with state (extraction detector) keep it here. */
  store: Store;
  /** Publishes an event on the monitoring bus (a no-op when monitoring is off). Never blocks. */
  emit(event: NewEvent): void;
  /** Folder of the config file: relative paths in options resolve against it. */
  baseDir: string;
  models: readonly ModelConfig[];
}

/** A kind of guard: its options schema (zod, strict, with defaults) and how to build one. */
export interface GuardFactory<O = unknown> {
  kind: string;
  /** One line for docs and `rampart guards list`. */
  description: string;
  options: z.ZodType<O, z.ZodTypeDef, unknown>;
  create(name: string, options: O, env: GuardEnv): Guard | Promise<Guard>;
}

/** Data of a `guard.verdict` event (docs/events.md); published for every verdict other than allow. */
export interface GuardVerdictEventData {
  requestId: string;
  route: string;
  guard: string;
  kind: string;
  phase: GuardPhase | 'stream';
  action: GuardAction | 'error';
  /** True when the guard runs in shadow mode (the verdict was recorded, not enforced). */
  shadow: boolean;
  score: number | null;
  reasons: { code: string; message: string }[];
  ms: number;
}
