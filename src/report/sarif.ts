// SARIF 2.1.0 report for code-scanning services (GitHub code scanning, GitLab, Azure DevOps).
// Mapping (documented in docs/reports.md):
// - one run; tool.driver.rules holds every rule that has a result, in rule-id order, with
//   `security-severity` (GitHub's convention: critical 9.5, high 8.0, medium 5.5, low 3.0);
// - a finding inside an archive points at the archive on disk (the only thing a repository
//   viewer can open) and names the member in a logicalLocation (`outer.zip!inner/data.pkl`);
// - byte offsets go to result.properties.byteOffset and the region carries startLine (the text
//   line when known, else 1), because GitHub needs region.startLine to place an alert and a SARIF
//   region must not mix a text range and a different binary range;
// - files that could not be scanned make invocations[0].executionSuccessful false, each with an
//   error notification.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Severity } from '../core/types.js';
import { severityRank } from '../core/types.js';
import { getRule } from '../scan/rules.js';
import type { Rule, ScanReport } from '../scan/types.js';
import { findingFingerprint, resolveRule, sortFindings, sortKeysDeep, splitMemberPath } from './common.js';
import type { RenderOptions, Reporter } from './types.js';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json';

/** GitHub code scanning reads `security-severity` (a number as a string) from rule properties. */
export const SECURITY_SEVERITY: Record<Severity, string | undefined> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: undefined,
};

export function sarifLevel(s: Severity): 'error' | 'warning' | 'note' {
  if (s === 'critical' || s === 'high') return 'error';
  if (s === 'medium') return 'warning';
  return 'note';
}

/**
 * A display path as a SARIF artifact URI: relative (with uriBaseId %SRCROOT%) when the file is
 * under `baseDir`, else an absolute file URI. Each segment is percent-encoded so spaces, `#`, `%`
 * and the like give a valid URI reference.
 */
export function artifactUri(file: string, baseDir: string): { uri: string; uriBaseId?: string } {
  const native = file.replace(/\\/g, '/');
  if (path.isAbsolute(file) || /^[A-Za-z]:\//.test(native)) {
    const rel = path.relative(baseDir, file);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return { uri: encodePath(rel), uriBaseId: '%SRCROOT%' };
    return { uri: pathToFileURL(file).href };
  }
  return { uri: encodePath(path.posix.normalize(native)), uriBaseId: '%SRCROOT%' };
}

function encodePath(p: string): string {
  return p
    .replace(/\\/g, '/')
    .replace(/^\.\//, '')
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

function ruleName(rule: Rule): string {
  const words = rule.title.replace(/[^A-Za-z0-9]+/g, ' ').trim().split(' ').filter(Boolean);
  const name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return name || rule.id.replace(/[^A-Za-z0-9]/g, '');
}

function ruleTags(rule: Rule): string[] {
  const area = /^RMP-([A-Z0-9]+)-/.exec(rule.id)?.[1]?.toLowerCase();
  return ['security', 'supply-chain', ...(area ? [area] : [])];
}

function reportingDescriptor(rule: Rule, observed: Severity): Record<string, unknown> {
  // A finding may raise its rule's severity; GitHub ranks alerts by the rule's security-severity,
  // so the rule advertises the highest severity seen in this run, never lower than its default.
  const sev = severityRank(observed) > severityRank(rule.severity) ? observed : rule.severity;
  const links = rule.links ?? [];
  const helpText = [rule.description, `Remediation: ${rule.remediation}`, ...links.map((l) => `See ${l}`)].join('\n\n');
  const helpMarkdown = [
    rule.description,
    `**Remediation:** ${rule.remediation}`,
    ...(links.length ? [links.map((l) => `- <${l}>`).join('\n')] : []),
  ].join('\n\n');
  const props: Record<string, unknown> = { tags: ruleTags(rule), precision: 'high' };
  const ss = SECURITY_SEVERITY[sev];
  if (ss !== undefined) props['security-severity'] = ss;
  const d: Record<string, unknown> = {
    id: rule.id,
    name: ruleName(rule),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    help: { text: helpText, markdown: helpMarkdown },
    defaultConfiguration: { level: sarifLevel(sev) },
    properties: props,
  };
  // helpUri must be an absolute URI; relative doc links stay in the help text only.
  const absolute = links.find((l) => /^https?:\/\//.test(l));
  if (absolute) d.helpUri = absolute;
  return d;
}

function result(f: Finding, ruleIndex: number, baseDir: string): Record<string, unknown> {
  const { outer, member } = splitMemberPath(f.file);
  const loc: Record<string, unknown> = {
    physicalLocation: {
      artifactLocation: artifactUri(outer, baseDir),
      region: { startLine: member === undefined && f.location?.line !== undefined ? Math.max(1, f.location.line) : 1 },
    },
  };
  if (member !== undefined) loc.logicalLocations = [{ fullyQualifiedName: f.file, name: member, kind: 'resource' }];
  const fp = findingFingerprint(f);
  const props: Record<string, unknown> = { severity: f.severity };
  if (member !== undefined) props.member = member;
  if (f.location?.offset !== undefined) props.byteOffset = f.location.offset;
  if (member !== undefined && f.location?.line !== undefined) props.line = f.location.line;
  if (f.location?.row !== undefined) props.row = f.location.row;
  if (f.location?.record !== undefined) props.record = f.location.record;
  if (f.remediation !== undefined) props.remediation = f.remediation;
  if (f.details !== undefined) props.details = sortKeysDeep(f.details);
  return {
    ruleId: f.ruleId,
    ruleIndex,
    level: sarifLevel(f.severity),
    message: { text: f.message },
    locations: [loc],
    // Our own fingerprint, plus primaryLocationLineHash so that upload tools do not try to hash
    // lines of binary model files; both depend only on rule, path and position.
    partialFingerprints: { 'rampartFinding/v1': fp, primaryLocationLineHash: `${fp.slice(0, 16)}:1` },
    properties: props,
  };
}

function isoPlus(iso: string, ms: number): string | undefined {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return new Date(t + Math.max(0, ms)).toISOString();
}

/** The SARIF log as an object. */
export function toSarif(report: ScanReport, opts: RenderOptions): Record<string, unknown> {
  const baseDir = opts.baseDir ?? process.cwd();
  const findings = sortFindings(report.findings);
  const ruleIds = [...new Set(findings.map((f) => f.ruleId))].sort();
  const index = new Map(ruleIds.map((id, i) => [id, i]));
  const rules = ruleIds.map((id) => {
    let observed: Severity = 'info';
    for (const f of findings) if (f.ruleId === id && severityRank(f.severity) > severityRank(observed)) observed = f.severity;
    return reportingDescriptor(resolveRule(id, findings, opts.rules ?? getRule), observed);
  });
  const incomplete = report.files.filter((r) => !r.complete).sort((a, b) => (a.file < b.file ? -1 : 1));
  const invocation: Record<string, unknown> = {
    executionSuccessful: incomplete.length === 0,
    toolExecutionNotifications: incomplete.map((r) => ({
      level: 'error',
      message: { text: `${r.file} could not be fully scanned; it is not reported as clean.` },
      locations: [{ physicalLocation: { artifactLocation: artifactUri(splitMemberPath(r.file).outer, baseDir) } }],
    })),
  };
  if (!Number.isNaN(Date.parse(report.startedAt))) {
    invocation.startTimeUtc = new Date(report.startedAt).toISOString();
    invocation.endTimeUtc = isoPlus(report.startedAt, report.durationMs);
  }
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'rampart',
            semanticVersion: report.tool.version,
            version: report.tool.version,
            rules,
          },
        },
        invocations: [invocation],
        columnKind: 'utf16CodeUnits',
        results: findings.map((f) => result(f, index.get(f.ruleId)!, baseDir)),
        properties: { filesScanned: report.files.length, suppressedByBaseline: report.suppressed },
      },
    ],
  };
}

export const sarifReporter: Reporter = {
  id: 'sarif',
  render: (report, opts) => `${JSON.stringify(toSarif(report, opts), null, 2)}\n`,
};
