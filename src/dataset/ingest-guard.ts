// Screening of training records as they arrive (the building block of the gateway's
// `POST /v1/datasets/{name}/records` route): each JSON record is checked against the dataset's
// trusted baseline for schema, type, range, unseen labels, robust per-feature outliers (z from
// the baseline's median and interquartile range) and a robust multivariate distance (when the
// baseline has a multivariate model), and against the stream of records the guard accepted before:
// repeats and conflicting-label repeats (a bounded memory of recent feature hashes) and a drift of
// the class balance over a sliding window. Accepted records pass with no finding at or above
// `quarantineAt`; the others go to quarantine. No I/O; the stream state lives in this process only.
import { severityRank, type Severity } from '../core/types.js';
import { getRule } from '../scan/rules.js';
import type { DatasetBaseline } from './baseline.js';
import { featureHash, LabelWindow, RecentRecords } from './ingest-stream.js';
import { multivariateScorer } from './multivariate-baseline.js';
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
  /** Robust distance score above which a record is a multivariate outlier (RMP-DATA-031); default the baseline's calibrated threshold. */
  multivariateScore?: number;
  /** Feature hashes of recently accepted records remembered for RMP-DATA-010/011 (default 100,000; 0 turns the check off). */
  recentRecords?: number;
  /** Class balance of the stream (RMP-DATA-007); `false` turns the check off. */
  labelBalance?: false | Partial<LabelBalanceOptions>;
}

export interface LabelBalanceOptions {
  /** Accepted labels in the sliding window (default 500). */
  window: number;
  /** Labels needed in the window before testing (default 100). */
  minCount: number;
  /** Chi-square p-value below which the balance drifted (default 0.001, as RMP-DATA-005). */
  pValue: number;
  /** Least change of one class's share, 0–1 (default 0.1). */
  minChange: number;
}

export const LABEL_BALANCE_DEFAULTS: Readonly<LabelBalanceOptions> = Object.freeze({ window: 500, minCount: 100, pValue: 1e-3, minChange: 0.1 });
export const RECENT_RECORDS_DEFAULT = 100_000;

export interface IngestGuard {
  /** Checks one record; an accepted record joins the stream state (repeat memory, label window). */
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
  const mv = b.multivariate;
  const score = mv ? multivariateScorer(mv) : undefined;
  const mvMax = o.multivariateScore ?? mv?.threshold ?? Infinity;
  const mvX = new Float64Array(mv?.features.length ?? 0);
  const recent = (o.recentRecords ?? RECENT_RECORDS_DEFAULT) > 0 ? new RecentRecords(o.recentRecords ?? RECENT_RECORDS_DEFAULT) : undefined;
  const window = b.classBalance && b.label !== undefined && o.labelBalance !== false ? new LabelWindow(b.classBalance, { ...LABEL_BALANCE_DEFAULTS, ...(o.labelBalance || {}) }) : undefined;
  const isAccepted = (findings: RecordFinding[]) => !findings.some((x) => severityRank(x.severity) >= quarantineAt);
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
      // The distance adds news only for a record whose every field looks ordinary on its own.
      if (score && findings.length === 0) {
        mv!.features.forEach((k, a) => {
          const v = record[k];
          mvX[a] = typeof v === 'number' ? v : NaN; // missing: the median, as in the batch scan
        });
        const s = score(mvX);
        if (s > mvMax) f('RMP-DATA-031', `robust distance score ${s.toFixed(1)} from the baseline is above ${mvMax.toFixed(1)}, though each feature is in range`);
      }
      const rawLabel = b.label !== undefined ? record[b.label] : undefined;
      const label = rawLabel === undefined || rawLabel === null ? '' : String(rawLabel);
      const hash = recent ? featureHash(record, b.label) : '';
      const prev = recent?.get(hash);
      if (recent) {
        // Never the other record's label: the caller may not be the one who sent it.
        if (prev === label) f('RMP-DATA-010', 'the same record was accepted recently');
        else if (prev !== undefined && prev !== '' && label !== '' && (!labels || labels.has(label))) f('RMP-DATA-011', 'the same features were accepted recently with a different label', b.label);
      }
      let accepted = isAccepted(findings);
      if (accepted && window && label !== '' && labels?.has(label)) {
        const d = window.add(label);
        if (d) {
          f('RMP-DATA-007', `class ${JSON.stringify(d.label)} is ${(100 * d.current).toFixed(1)}% of the last ${d.window} accepted records, ${(100 * d.baseline).toFixed(1)}% in the baseline (chi-square p = ${d.pValue.toExponential(1)})`, b.label);
          accepted = isAccepted(findings);
        }
      }
      // A repeat refreshes the entry, keeping the first label seen.
      if (accepted && recent) recent.remember(hash, prev ?? label);
      return { accepted, findings };
    },
  };
}
