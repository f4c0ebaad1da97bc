// Interfaces between the gateway and the layers it wires together (authentication, policy,
// quotas, audit). The gateway depends on these types only; src/auth, src/policy, src/quota and
// src/audit implement them, and src/gateway/wire.ts connects the implementations.
import type { PeerCertificate } from 'node:tls';
import type { Action, Principal, TokenUsage } from './types.js';

/** What the authenticator may look at. Raw header values; never logged. */
export interface AuthnInput {
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** The `x-api-key` header, if any (accepted as an alternative to `Authorization: Bearer`). */
  apiKey?: string;
  /** The verified client certificate of an mTLS connection (undefined without mTLS). */
  peerCertificate?: PeerCertificate | null;
  sourceIp: string;
}

export interface Authenticator {
  /**
   * Returns the caller, or throws a RampartError: RAMPART_ERR_AUTH_MISSING (no credentials),
   * RAMPART_ERR_AUTH_INVALID, RAMPART_ERR_AUTH_EXPIRED, RAMPART_ERR_AUTH_REVOKED.
   */
  authenticate(input: AuthnInput): Promise<Principal>;
  /**
   * The same answer without a promise when it needs no I/O (an API key whose record is cached):
   * the caller, or the same refusal thrown; undefined when only authenticate() can decide.
   * Optional: a hot path that saves a promise chain per request.
   */
  authenticateSync?(input: AuthnInput): Principal | undefined;
  close(): Promise<void>;
}

export interface AuthzContext {
  time: Date;
  sourceIp: string;
  /** Route id, e.g. `openai.chat.completions`, `kserve.infer`, `generic`. */
  route: string;
  method: string;
  /** Request attributes that policies may use (e.g. `stream`, `max_tokens`). Never secrets. */
  attributes: Record<string, string | number | boolean>;
}

export interface AuthzRequest {
  principal: Principal;
  action: Action;
  /** Public model name (the Cedar resource id); for `ingest`, the dataset name (resource Rampart::Dataset). */
  model: string;
  context: AuthzContext;
}

export interface AuthzDecision {
  decision: 'allow' | 'deny';
  /** Ids of the policies that determined the decision (empty on default deny). */
  policyIds: string[];
  /** Evaluation errors (a policy that errored does not apply; the request stays denied unless another permits). */
  errors: string[];
}

export interface Authorizer {
  authorize(req: AuthzRequest): AuthzDecision;
}

export interface QuotaRequest {
  principal: string;
  model: string;
  /** LLM routes also check token budgets. */
  countsTokens: boolean;
}

/** A held quota slot; release exactly once when the request ends (success, error or abort). */
export interface QuotaLease {
  release(usage?: TokenUsage | null): void;
  /**
   * Instead of release(), for an admission that was never used (one reserved ahead, see
   * QuotaManager.acquireMany): frees its slot and gives its request token back. Optional.
   */
  cancel?(): void;
}

export interface QuotaManager {
  /** Takes a request slot or throws RAMPART_ERR_QUOTA_EXCEEDED (QuotaExceededError with retryAfterSeconds). */
  acquire(req: QuotaRequest): Promise<QuotaLease>;
  /**
   * acquire() without a promise when the counters are in this process: the lease (or the same
   * refusal thrown), or undefined when only acquire() can decide. Optional (hot path).
   */
  tryAcquireSync?(req: QuotaRequest): QuotaLease | undefined;
  /**
   * Up to `max` admissions at once, for a process that admits requests on this one's behalf (the
   * gateway's workers): the first exactly as acquire() (or its refusal), more only while every
   * limit that applies keeps plenty of room, so that holding them never changes a decision near a
   * limit. Optional: without it, callers use acquire().
   */
  acquireMany?(req: QuotaRequest, max: number): Promise<QuotaLease[]>;
}

/** One audit record per request. Never holds bodies or credentials unless configured. */
export interface AuditRecord {
  id: string;
  /** ISO 8601 time the request arrived. */
  time: string;
  principal: string | null;
  authMethod: string | null;
  model: string | null;
  action: Action | null;
  route: string;
  method: string;
  path: string;
  sourceIp: string;
  decision: 'allow' | 'deny' | 'error';
  policyIds: string[];
  /** Rampart error code when refused or failed. */
  errorCode: string | null;
  status: number;
  latencyMs: number;
  upstreamMs: number | null;
  bytesIn: number;
  bytesOut: number;
  usage: TokenUsage | null;
  /** Set when audit.includeBodies is on. */
  requestBody?: string;
  responseBody?: string;
  /** What each inference guard did (absent when no guard ran); see docs/guards.md. */
  guards?: AuditGuardEntry[];
}

/** One guard's verdict in an audit record: reason codes only, never texts or matched content. */
export interface AuditGuardEntry {
  name: string;
  kind: string;
  phase: 'request' | 'response' | 'stream';
  action: 'allow' | 'flag' | 'redact' | 'block' | 'error';
  shadow: boolean;
  score: number | null;
  reasons: string[];
  ms: number;
}

export interface AuditLog {
  /** Queues a record; never blocks the request. Records are persisted in order. */
  record(rec: AuditRecord): void;
  /** Persists everything queued so far. */
  flush(): Promise<void>;
  /** Flushes and stops. */
  close(): Promise<void>;
}
