// Screening of single training records as they arrive (the building block of the gateway's
// `POST /v1/datasets/{name}/records` route): each JSON record is checked against the dataset's
// trusted baseline for schema, type, range, unseen labels and robust per-feature outliers (z from
// the baseline's median and interquartile range). Accepted records pass with no finding at or
// above `quarantineAt`; the others go to quarantine. Pure: no I/O, no state beyond the baseline.
import { severityRank, type Severity } from '../core/types.js';
import { getRule } from '../scan/rules.js';
import type { DatasetBaseline } from './baseline.js';
import './rules.js';

export interface RecordFinding {
  ruleId: string;
  severity: Severity;
  message: string;
  column?: string;
}

export interface RecordVerdict {
  accepted: boolean;
  findings: RecordFinding[];
}

export interface IngestGuardOptions {
  /** Quarantine a record with a finding at or above this severity (default medium). */
  quarantineAt?: Severity;
  /** Robust |z| above which a value is an outlier (default 10, as RMP-DATA-030). */
  zThreshold?: number;
  /** Range margin as a share of the baseline span (default 0.1, as RMP-DATA-004). */
  rangeMargin?: number;
}

export interface IngestGuard {
  check(record: Record<string, unknown>): RecordVerdict;
}

/** Builds a guard from a baseline (from `rampart dataset baseline`, or `readBaseline`). */
export function createIngestGuard(b: DatasetBaseline, o: IngestGuardOptions = {}): IngestGuard {
  const quarantineAt = severityRank(o.quarantineAt ?? 'medium');
  const zMax = o.zThreshold ?? 10;
  const margin = o.rangeMargin ?? 0.1;
  const labels = b.classBalance ? new Set(Object.keys(b.classBalance)) : undefined;
  const cols = b.columns.filter((c) => c.kind !== 'empty');
  const known = new Set(b.columns.map((c) => c.name));
  const sev = (id: string) => getRule(id)!.severity;
  return {
    check(record) {
      const findings: RecordFinding[] = [];
      const f = (ruleId: string, message: string, column?: string) => findings.push({ ruleId, severity: sev(ruleId), message, ...(column !== undefined ? { column } : {}) });
      for (const k of Object.keys(record)) if (!known.has(k)) f('RMP-DATA-003', `field ${k} is not in the baseline`, k);
      for (const c of cols) {
        const v = record[c.name];
        if (v === undefined) {
          if (c.missing === 0) f('RMP-DATA-003', `field ${c.name} is missing`, c.name);
          continue;
        }
        if (v === null) continue;
        if (c.name === b.label) {
          if (labels && !labels.has(String(v))) f('RMP-DATA-006', `label ${JSON.stringify(String(v))} is not in the baseline`, c.name);
          continue;
        }
        if (c.kind !== 'numeric' || !c.profile) continue;
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          f('RMP-DATA-002', `field ${c.name} must be a finite number`, c.name);
          continue;
        }
        const p = c.profile;
        const span = p.max - p.min;
        if (v < p.min - margin * span || v > p.max + margin * span) f('RMP-DATA-004', `${c.name} = ${v} is outside the baseline range [${p.min}, ${p.max}]`, c.name);
        const [q25, q50, q75] = [p.quantiles[3]!, p.quantiles[4]!, p.quantiles[5]!];
        // IQR / 1.349 estimates the standard deviation of a normal; fall back to the span.
        const scale = (q75 - q25) / 1.349 || span / 4;
        const z = scale > 0 ? Math.abs(v - q50) / scale : v === q50 ? 0 : Infinity;
        if (z > zMax) f('RMP-DATA-030', `${c.name} = ${v} is ${Number.isFinite(z) ? z.toFixed(1) : '∞'} robust SDs from the baseline median`, c.name);
      }
      return { accepted: !findings.some((x) => severityRank(x.severity) >= quarantineAt), findings };
    },
  };
}
