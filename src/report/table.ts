// Human-readable report: findings grouped by top-level file, highest severity first, with a
// summary line. Colour (ANSI) only when the caller says the output is a terminal. Every string
// that came from a scanned file is made printable first, so a hostile file name or embedded string
// cannot send escape sequences to the reader's terminal.
import type { Finding, Severity } from '../core/types.js';
import { severityRank } from '../core/types.js';
import type { FileResult, ScanReport } from '../scan/types.js';
import { countBySeverity, SEVERITIES_DESC, sortFindings, splitMemberPath } from './common.js';
import type { RenderOptions, Reporter } from './types.js';

const SEVERITY_STYLE: Record<Severity, string> = {
  critical: '1;97;41',
  high: '1;31',
  medium: '33',
  low: '36',
  info: '2',
};

/** Replaces control characters (C0, DEL, C1, and bidi overrides) with visible escapes. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function where(f: Finding): string {
  const parts: string[] = [];
  const { member } = splitMemberPath(f.file);
  if (member !== undefined) parts.push(`in ${member}`);
  const l = f.location;
  if (l?.offset !== undefined) parts.push(`@${l.offset}`);
  if (l?.line !== undefined) parts.push(`line ${l.line}`);
  if (l?.row !== undefined) parts.push(`row ${l.row}`);
  if (l?.record !== undefined) parts.push(`[${l.record}]`);
  if (f.details?.newSinceBaseline === true) parts.push('(new since baseline)');
  return parts.join(' ');
}

function render(report: ScanReport, opts: RenderOptions): string {
  const paint = (codes: string, s: string): string => (opts.color ? `\u001b[${codes}m${s}\u001b[0m` : s);
  const lines: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const f of sortFindings(report.findings)) {
    const { outer } = splitMemberPath(f.file);
    const list = byFile.get(outer) ?? [];
    list.push(f);
    byFile.set(outer, list);
  }
  const fileInfo = new Map<string, FileResult>(report.files.map((r) => [r.file, r]));
  const shown = new Set<string>();
  const headerFor = (file: string): string => {
    const info = fileInfo.get(file);
    const meta = info ? ` (${info.formats.length ? info.formats.join(', ') : 'unknown format'}, ${formatBytes(info.size)})` : '';
    const incomplete = info && !info.complete ? ` ${paint('1;31', 'NOT FULLY SCANNED')}` : '';
    return `${paint('1', printable(file))}${meta}${incomplete}`;
  };
  const files = [...new Set([...byFile.keys(), ...report.files.filter((r) => !r.complete).map((r) => r.file)])].sort();
  for (const file of files) {
    shown.add(file);
    lines.push(headerFor(file));
    const list = [...(byFile.get(file) ?? [])].sort(
      (a, b) => severityRank(b.severity) - severityRank(a.severity),
    );
    for (const f of list) {
      const sev = paint(SEVERITY_STYLE[f.severity], f.severity.toUpperCase().padEnd(8));
      const w = where(f);
      lines.push(`  ${sev}  ${f.ruleId}  ${printable(f.message)}${w ? `  ${paint('2', printable(w))}` : ''}`);
      if (f.remediation) lines.push(`            ${paint('2', `fix: ${printable(f.remediation)}`)}`);
    }
    lines.push('');
  }
  const counts = countBySeverity(report.findings);
  const incomplete = report.files.filter((r) => !r.complete).length;
  const countText = SEVERITIES_DESC.map((s) => {
    const t = `${counts[s]} ${s}`;
    return counts[s] > 0 ? paint(SEVERITY_STYLE[s], t) : t;
  }).join(', ');
  const n = report.findings.length;
  let summary =
    `Scanned ${report.files.length} file${report.files.length === 1 ? '' : 's'} in ${(report.durationMs / 1000).toFixed(2)} s` +
    `${incomplete ? ` (${paint('1;31', `${incomplete} not fully scanned`)})` : ''}` +
    `: ${n} finding${n === 1 ? '' : 's'} (${countText})`;
  if (report.suppressed > 0) summary += `, ${report.suppressed} suppressed by baseline`;
  if (n === 0 && incomplete === 0) summary += ` ${paint('32', '- no findings')}`;
  lines.push(summary);
  return `${lines.join('\n')}\n`;
}

export const tableReporter: Reporter = { id: 'table', render };
