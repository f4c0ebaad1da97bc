// Machine-readable report: the ScanReport with a schema version and a summary, keys in a fixed
// order (documented in docs/reports.md) and findings sorted, so two runs over the same files give
// byte-identical output apart from times.
import type { Finding } from '../core/types.js';
import type { FileResult, ScanReport } from '../scan/types.js';
import { countBySeverity, SEVERITIES_DESC, sortFindings, sortKeysDeep } from './common.js';
import type { Reporter } from './types.js';

/** Version of the JSON layout; bumped only on incompatible changes. */
export const JSON_REPORT_SCHEMA_VERSION = 1;

function fileJson(r: FileResult): Record<string, unknown> {
  return {
    file: r.file,
    formats: [...r.formats],
    size: r.size,
    complete: r.complete,
    durationMs: r.durationMs,
  };
}

function findingJson(f: Finding): Record<string, unknown> {
  const out: Record<string, unknown> = { ruleId: f.ruleId, severity: f.severity, file: f.file };
  if (f.location) {
    const l: Record<string, unknown> = {};
    if (f.location.offset !== undefined) l.offset = f.location.offset;
    if (f.location.line !== undefined) l.line = f.location.line;
    if (f.location.row !== undefined) l.row = f.location.row;
    if (f.location.record !== undefined) l.record = f.location.record;
    out.location = l;
  }
  out.message = f.message;
  if (f.remediation !== undefined) out.remediation = f.remediation;
  if (f.details !== undefined) out.details = sortKeysDeep(f.details);
  return out;
}

/** The JSON document as an object (exported for callers that embed it, e.g. the console). */
export function toJsonReport(report: ScanReport): Record<string, unknown> {
  const counts = countBySeverity(report.findings);
  return {
    schemaVersion: JSON_REPORT_SCHEMA_VERSION,
    tool: { name: report.tool.name, version: report.tool.version },
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    summary: {
      files: report.files.length,
      incompleteFiles: report.files.filter((r) => !r.complete).length,
      findings: report.findings.length,
      bySeverity: Object.fromEntries(SEVERITIES_DESC.map((s) => [s, counts[s]])),
      suppressed: report.suppressed,
    },
    files: [...report.files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map(fileJson),
    findings: sortFindings(report.findings).map(findingJson),
    suppressed: report.suppressed,
  };
}

export const jsonReporter: Reporter = {
  id: 'json',
  render: (report) => `${JSON.stringify(toJsonReport(report), null, 2)}\n`,
};
