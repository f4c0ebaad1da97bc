// Error codes of the quota layer.
import { defineError } from '../core/errors.js';

const QuotaExceededBase = defineError('RAMPART_ERR_QUOTA_EXCEEDED', 'a request, concurrency or token quota is exhausted');

/** Whose limit refused the request. */
export type QuotaScope = 'principal' | 'model' | 'dataset';

/** Which limit refused the request. */
export type QuotaLimitKind = 'requestsPerMinute' | 'concurrent' | 'tokensPerMinute' | 'tokensPerDay';

/** Thrown by QuotaManager.acquire; the gateway answers 429 with `Retry-After: retryAfterSeconds`. */
export class QuotaExceededError extends QuotaExceededBase {
  readonly retryAfterSeconds: number;
  readonly limit: QuotaLimitKind;
  /** `principal`, `model` or `dataset` (ingestion): whose limit it was. */
  readonly scope: QuotaScope;

  constructor(limit: QuotaLimitKind, scope: QuotaScope, retryAfterMs: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(`${scope} quota exceeded: ${limit}; retry after ${retryAfterSeconds}s`, { details: { limit, scope, retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
    this.limit = limit;
    this.scope = scope;
  }
}
