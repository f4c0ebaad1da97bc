// Events from short-lived processes (CLI commands: key operations, scans) that have no bus: written
// straight to the store's event table, best effort, so they appear in the event history next to
// the gateway's. A store without an event table, or a failed write, never fails the operation.
import type { Store } from '../store/types.js';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../core/types.js';
import { makeEvent, type RampartEvent } from './schema.js';

/** Persists events in the store; resolves to false when they could not be stored. */
export async function recordEvents(store: Store, ...events: RampartEvent[]): Promise<boolean> {
  if (!store.events || events.length === 0) return false;
  try {
    await store.events.appendEvents(events.map((e) => ({ id: e.id, time: e.time, type: e.type, principal: e.principal ?? null, body: JSON.stringify(e) })));
    return true;
  } catch {
    return false;
  }
}

/** A `key.operation` event (`operation`: create, revoke, rotate, retire, ...). `principal` is the key's owner. */
export function keyOperationEvent(operation: string, keyId: string, principal?: string, source = 'cli'): RampartEvent {
  return makeEvent({ type: 'key.operation', source, severity: 'info', ...(principal ? { principal } : {}), data: { operation, keyId } });
}

/**
 * A `scan.result` event: what `rampart scan` found, as counts (never the findings' text, which
 * may quote file contents). `targets` are the paths given on the command line (at most 20 kept).
 */
export function scanResultEvent(kind: 'model' | 'dataset', targets: string[], files: number, findings: readonly Finding[], exitCode: number, durationMs: number, source = 'scanner'): RampartEvent {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const rules = new Map<string, number>();
  let max: Severity | null = null;
  for (const f of findings) {
    counts[f.severity]++;
    rules.set(f.ruleId, (rules.get(f.ruleId) ?? 0) + 1);
    if (max === null || severityRank(f.severity) > severityRank(max)) max = f.severity;
  }
  const topRules = [...rules].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([id, n]) => ({ id, count: n }));
  return makeEvent({
    type: 'scan.result',
    source,
    severity: max ?? 'info',
    data: { kind, targets: targets.slice(0, 20), files, findings: counts, maxSeverity: max, rules: topRules, exitCode, durationMs: Math.round(durationMs) },
  });
}
