// The versioned event schema (`rampart.event/v1`, documented in docs/events.md). Everything the
// monitor watches is one of these: gateway decisions, authentication failures, policy denials,
// quota refusals, scan results, key operations and guard verdicts. Events never carry bodies,
// credentials or secrets.
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../core/contracts.js';
import type { Severity } from '../core/types.js';

export const EVENT_SCHEMA = 'rampart.event/v1';

export const EVENT_TYPES = [
  'gateway.request',
  'auth.failure',
  'authz.deny',
  'quota.exceeded',
  'scan.result',
  'key.operation',
  'guard.verdict',
  'model.prediction',
  'data.record',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event. `data` depends on `type` (see docs/events.md); it only holds JSON values. */
export interface RampartEvent {
  schema: typeof EVENT_SCHEMA;
  /** Unique id (UUID v4 unless the producer has a stable one, e.g. the request id). */
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  type: EventType;
  /** Component that emitted it, e.g. `gateway`, `scanner`, `keys`, `demo`. */
  source: string;
  principal?: string;
  model?: string;
  sourceIp?: string;
  severity?: Severity;
  data: Record<string, unknown>;
}

/** Data of a `gateway.request` event (one per audited request). */
export interface GatewayRequestData {
  requestId: string;
  route: string;
  method: string;
  decision: 'allow' | 'deny' | 'error';
  status: number;
  errorCode: string | null;
  latencyMs: number;
  upstreamMs: number | null;
  bytesIn: number;
  bytesOut: number;
  totalTokens: number | null;
}

export interface NewEvent {
  type: EventType;
  source: string;
  id?: string;
  time?: number;
  principal?: string;
  model?: string;
  sourceIp?: string;
  severity?: Severity;
  data?: Record<string, unknown>;
}

/** Fills in schema, id and time. */
export function makeEvent(e: NewEvent): RampartEvent {
  const out: RampartEvent = {
    schema: EVENT_SCHEMA,
    id: e.id ?? randomUUID(),
    time: e.time ?? Date.now(),
    type: e.type,
    source: e.source,
    data: e.data ?? {},
  };
  if (e.principal !== undefined) out.principal = e.principal;
  if (e.model !== undefined) out.model = e.model;
  if (e.sourceIp !== undefined) out.sourceIp = e.sourceIp;
  if (e.severity !== undefined) out.severity = e.severity;
  return out;
}

/** Checks the envelope of an event read from outside (store, file); false when it is not v1. */
export function isEvent(v: unknown): v is RampartEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    e.schema === EVENT_SCHEMA &&
    typeof e.id === 'string' &&
    typeof e.time === 'number' &&
    Number.isFinite(e.time) &&
    typeof e.type === 'string' &&
    (EVENT_TYPES as readonly string[]).includes(e.type) &&
    typeof e.source === 'string' &&
    typeof e.data === 'object' &&
    e.data !== null &&
    !Array.isArray(e.data)
  );
}

/**
 * The events one audited gateway request stands for: always a `gateway.request`, plus an
 * `auth.failure`, `authz.deny` or `quota.exceeded` when the request was refused for that reason.
 */
export function eventsFromAudit(rec: AuditRecord): RampartEvent[] {
  const time = Date.parse(rec.time);
  const base = {
    source: 'gateway',
    time: Number.isFinite(time) ? time : Date.now(),
    ...(rec.principal ? { principal: rec.principal } : {}),
    ...(rec.model ? { model: rec.model } : {}),
    sourceIp: rec.sourceIp,
  };
  const data: GatewayRequestData = {
    requestId: rec.id,
    route: rec.route,
    method: rec.method,
    decision: rec.decision,
    status: rec.status,
    errorCode: rec.errorCode,
    latencyMs: rec.latencyMs,
    upstreamMs: rec.upstreamMs,
    bytesIn: rec.bytesIn,
    bytesOut: rec.bytesOut,
    totalTokens: rec.usage?.totalTokens ?? null,
  };
  const out = [makeEvent({ ...base, type: 'gateway.request', id: `req:${rec.id}`, data: { ...data } })];
  const code = rec.errorCode ?? '';
  const refusal = { requestId: rec.id, route: rec.route, errorCode: code, status: rec.status };
  if (code.startsWith('RAMPART_ERR_GUARD_')) {
    // Guard refusals are published as `guard.verdict` events by the guard pipeline itself.
  } else if (code.startsWith('RAMPART_ERR_AUTH_')) {
    out.push(makeEvent({ ...base, type: 'auth.failure', id: `auth:${rec.id}`, severity: 'low', data: refusal }));
  } else if (code.startsWith('RAMPART_ERR_POLICY_') || (rec.decision === 'deny' && rec.status === 403)) {
    out.push(makeEvent({ ...base, type: 'authz.deny', id: `authz:${rec.id}`, severity: 'low', data: { ...refusal, policyIds: rec.policyIds } }));
  } else if (code.startsWith('RAMPART_ERR_QUOTA_')) {
    out.push(makeEvent({ ...base, type: 'quota.exceeded', id: `quota:${rec.id}`, severity: 'low', data: refusal }));
  }
  return out;
}

/** Reads a dotted path (`data.route`, `principal`) of an event; undefined when absent. */
export function eventField(e: RampartEvent, path: string): unknown {
  let cur: unknown = e;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
