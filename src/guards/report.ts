// How guard runs are shown outside the pipeline: the `x-rampart-guards` and `Server-Timing`
// response headers, and the `guards` field of the audit record (codes only, never messages, so
// the hash-chained audit holds no text a guard derived from the body).
import type { AuditGuardEntry } from '../core/contracts.js';
import type { GuardRun } from './pipeline.js';
import { round3 } from './pipeline.js';

const ms2 = (ms: number): string => String(Math.round(ms * 100) / 100);

/**
 * `x-rampart-guards`: each guard that ran, in order, with its action and time in ms, e.g.
 * `pii;action=allow;dur=0.08, prompt-injection;action=flag;dur=0.31`. Response-phase entries carry
 * `phase=response`, shadow guards `shadow`; `streams` names the filters of a streamed response.
 */
export function guardsHeader(runs: readonly GuardRun[], streams: readonly string[] = []): string {
  const parts = runs.map((r) => `${r.name};action=${r.action}${r.shadow ? ';shadow' : ''}${r.phase === 'request' ? '' : `;phase=${r.phase}`};dur=${ms2(r.ms)}`);
  for (const s of streams) parts.push(`${s};phase=stream`);
  return parts.join(', ');
}

/** `Server-Timing` entries, one per guard run: `guard-pii;dur=0.08;desc="pii request"`. */
export function serverTiming(runs: readonly GuardRun[]): string {
  return runs.map((r) => `guard-${r.name}${r.phase === 'request' ? '' : `-${r.phase}`};dur=${ms2(r.ms)}`).join(', ');
}

/** The audit record's `guards` entries. */
export function auditGuards(runs: readonly GuardRun[]): AuditGuardEntry[] {
  return runs.map((r) => ({
    name: r.name,
    kind: r.kind,
    phase: r.phase,
    action: r.action,
    shadow: r.shadow,
    score: r.score,
    reasons: [...new Set(r.reasons.map((x) => x.code))],
    ms: round3(r.ms),
  }));
}
