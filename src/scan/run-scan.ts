// What `rampart scan` does, as a library function: merge flags and the scan config file, scan,
// apply a baseline, render, and decide the exit code (0 nothing at or above fail-on, 1 findings at
// or above it, 2 a file could not be fully scanned and nothing at or above fail-on was found).
import type { Logger } from '../core/logger.js';
import { severityRank, type Severity } from '../core/types.js';
import { getReporter } from '../report/index.js';
import { scanPaths } from './engine.js';
import { loadScanConfig, GLOBAL_PATTERN } from './config.js';
import { applyBaseline, makeBaseline, readBaseline, writeBaselineFile } from './baseline.js';
import { ScanConfigInvalidError } from './errors.js';
import { getRule } from './rules.js';
import type { ScanReport } from './types.js';

export interface RunScanOptions {
  format: string;
  failOn?: Severity;
  baseline?: string;
  writeBaseline?: string;
  allowGlobals: string[];
  denyGlobals: string[];
  config?: string;
  jobs?: number;
  color: boolean;
  version: string;
}

export interface RunScanResult {
  report: ScanReport;
  output: string;
  exitCode: 0 | 1 | 2;
}

export async function runScan(paths: string[], o: RunScanOptions, logger?: Logger): Promise<RunScanResult> {
  const cfg = o.config ? loadScanConfig(o.config) : undefined;
  for (const g of [...o.allowGlobals, ...o.denyGlobals]) {
    if (!GLOBAL_PATTERN.test(g)) throw new ScanConfigInvalidError(`invalid global pattern "${g}" (expected module.name or module.*)`);
  }
  const reporter = getReporter(o.format); // fail before scanning on a bad format
  const report = await scanPaths(
    paths,
    {
      allowGlobals: [...(cfg?.allowGlobals ?? []), ...o.allowGlobals],
      denyGlobals: [...(cfg?.denyGlobals ?? []), ...o.denyGlobals],
      limits: cfg?.limits as never,
      jobs: o.jobs ?? cfg?.jobs,
      version: o.version,
    },
    logger,
  );
  if (o.writeBaseline) writeBaselineFile(o.writeBaseline, makeBaseline(report.findings));
  if (o.baseline) {
    const { kept, suppressed } = applyBaseline(report.findings, readBaseline(o.baseline));
    report.findings = kept;
    report.suppressed = suppressed.length;
  }
  const failOn = o.failOn ?? cfg?.failOn ?? 'high';
  const failing = report.findings.some((f) => severityRank(f.severity) >= severityRank(failOn));
  // A file is incomplete only while one of its incomplete-scan findings is still reported.
  const incomplete = report.findings.some((f) => getRule(f.ruleId)?.incomplete === true);
  const exitCode = failing ? 1 : incomplete ? 2 : 0;
  return { report, output: reporter.render(report, { color: o.color, rules: getRule }), exitCode };
}
