// What `rampart scan DATA --label ...` and `rampart dataset scan` do as a library function: scan one
// or more dataset files, render through the reporters, write the clean/quarantine split, and decide
// the exit code (0 nothing at or above fail-on, 1 findings at or above it).
import type { Logger } from '../core/logger.js';
import { severityRank, type Severity } from '../core/types.js';
import { getReporter } from '../report/index.js';
import { getRule } from '../scan/rules.js';
import type { ScanReport } from '../scan/types.js';
import { DatasetOutputUnsupportedError } from './errors.js';
import { scanDatasetFile, type DatasetScanOptions } from './scan-dataset.js';
import { sniffFileFormat } from './read-dataset.js';
import { checkSplitTargets, writeSplit } from './write-rows.js';

export interface RunDatasetScanOptions extends DatasetScanOptions {
  format: string;
  failOn?: Severity;
  writeClean?: string;
  quarantine?: string;
  color: boolean;
  /** Read and check the data this many rows at a time (scan-chunked.ts). */
  chunkRows?: number;
}

export interface RunDatasetScanResult {
  report: ScanReport;
  output: string;
  exitCode: 0 | 1;
  split?: { clean: number; quarantined: number };
  /** Checks a chunked scan did not run. */
  skipped?: string[];
}

export async function runDatasetScan(paths: string[], o: RunDatasetScanOptions, logger?: Logger): Promise<RunDatasetScanResult> {
  const reporter = getReporter(o.format);
  if ((o.writeClean || o.quarantine) && paths.length !== 1) throw new DatasetOutputUnsupportedError('--write-clean/--quarantine take exactly one dataset file');
  const failOn = o.failOn ?? 'high';
  const targets = { ...(o.writeClean ? { clean: o.writeClean } : {}), ...(o.quarantine ? { quarantine: o.quarantine } : {}) };
  // Output names are checked against the input's format before the scan, not after it.
  if (o.writeClean || o.quarantine) checkSplitTargets(paths[0]!, sniffFileFormat(paths[0]!), targets);
  const started = Date.now();
  const report: ScanReport = { tool: { name: 'rampart', version: o.version }, startedAt: new Date(started).toISOString(), durationMs: 0, files: [], findings: [], suppressed: 0 };
  let split: RunDatasetScanResult['split'];
  let skipped: string[] | undefined;
  for (const p of paths) {
    let r;
    if (o.chunkRows !== undefined) {
      const { scanDatasetChunked } = await import('./scan-chunked.js');
      r = await scanDatasetChunked(p, { ...o, chunkRows: o.chunkRows }, logger);
      skipped = r.skipped;
    } else r = await scanDatasetFile(p, o, logger);
    report.files.push(...r.report.files);
    report.findings.push(...r.report.findings);
    if (o.writeClean || o.quarantine) {
      const q = Uint8Array.from(r.rowSeverity, (s) => (s >= severityRank(failOn) ? 1 : 0));
      split = await writeSplit(r.dataset, q, targets);
    }
  }
  report.durationMs = Date.now() - started;
  const failing = report.findings.some((f) => severityRank(f.severity) >= severityRank(failOn));
  const out: RunDatasetScanResult = { report, output: reporter.render(report, { color: o.color, rules: getRule }), exitCode: failing ? 1 : 0 };
  if (split) out.split = split;
  if (skipped?.length) out.skipped = skipped;
  return out;
}
