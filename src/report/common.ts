// Helpers shared by the reporters: a deterministic finding order (the engine scans files in
// parallel, so arrival order is not stable), severity counts, and rule metadata resolution.
import { createHash } from 'node:crypto';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../core/types.js';
import type { Rule } from '../scan/types.js';
import type { RuleLookup } from './types.js';

function cmpNum(a: number | undefined, b: number | undefined): number {
  return (a ?? -1) - (b ?? -1);
}

function cmpStr(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** 0 for a finding on a dataset row new or changed since the data baseline, else 1. */
function freshRank(f: Finding): number {
  return f.details?.newSinceBaseline === true ? 0 : 1;
}

/**
 * Total order: file; within a file, findings on dataset rows new or changed since the data
 * baseline first (they are the ones to check first); position in the file, severity (highest
 * first), rule id, message.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    cmpStr(a.file, b.file) ||
    freshRank(a) - freshRank(b) ||
    cmpNum(a.location?.offset, b.location?.offset) ||
    cmpNum(a.location?.line, b.location?.line) ||
    cmpNum(a.location?.row, b.location?.row) ||
    cmpStr(a.location?.record, b.location?.record) ||
    severityRank(b.severity) - severityRank(a.severity) ||
    cmpStr(a.ruleId, b.ruleId) ||
    cmpStr(a.message, b.message)
  );
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(compareFindings);
}

export type SeverityCounts = Record<Severity, number>;

export function countBySeverity(findings: readonly Finding[]): SeverityCounts {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

/** Severities from highest to lowest, the order people read counts in. */
export const SEVERITIES_DESC: readonly Severity[] = [...SEVERITIES].reverse();

/**
 * The top-level file of a display path: `outer.zip!inner/data.pkl` → `outer.zip`. Members of
 * archives are joined with `!`, so the on-disk file is everything before the first `!`.
 */
export function splitMemberPath(file: string): { outer: string; member: string | undefined } {
  const i = file.indexOf('!');
  return i < 0 ? { outer: file, member: undefined } : { outer: file.slice(0, i), member: file.slice(i + 1) };
}

/**
 * Rule metadata for a rule id. When the registry does not know the id (a rule from a newer
 * analyzer, or a lookup that was not wired), a neutral description is made up from the findings so
 * that reports stay complete; the severity is then the highest one seen.
 */
export function resolveRule(ruleId: string, findings: readonly Finding[], lookup: RuleLookup | undefined): Rule {
  const known = lookup?.(ruleId);
  if (known) return known;
  let severity: Severity = 'info';
  for (const f of findings) if (f.ruleId === ruleId && severityRank(f.severity) > severityRank(severity)) severity = f.severity;
  return {
    id: ruleId,
    severity,
    title: ruleId,
    description: `Findings of rule ${ruleId}.`,
    remediation: findings.find((f) => f.ruleId === ruleId && f.remediation)?.remediation ?? 'See docs/rules.md.',
  };
}

/** Stable identity of a finding across runs: rule, file and position, not wording or time. */
export function findingFingerprint(f: Finding): string {
  const l = f.location ?? {};
  const key = [f.ruleId, f.file, l.offset ?? '', l.line ?? '', l.row ?? '', l.record ?? '', f.message].join('\u0000');
  return createHash('sha256').update(key).digest('hex');
}

/** Copies a JSON-like value with object keys sorted, so output does not depend on insertion order. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeysDeep(v);
    }
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
