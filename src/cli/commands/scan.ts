// `rampart scan PATH...`: scans model files for code that runs when they are loaded and reports
// as a table, JSON or SARIF (docs/scan.md). Exit codes: 0 nothing at or above --fail-on, 1 findings
// at or above it, 2 a file could not be fully scanned (or the command could not run).
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { writeFileReplacing } from '../../core/replace-file.js';
import { createLogger } from '../../core/logger.js';
import { isSeverity, type Severity } from '../../core/types.js';
import { shouldColor } from '../../report/index.js';
import { ExitCode } from '../exit-code.js';
import { addDatasetFlags, runDatasetScanCommand, type DatasetScanFlags } from './dataset.js';
import { VERSION } from '../version.js';
import { addScanEventFlags, recordScanResult, type ScanEventFlags } from './scan-events.js';

interface ScanFlags extends DatasetScanFlags, ScanEventFlags {
  format: string;
  output?: string;
  failOn?: string;
  baseline?: string;
  writeBaseline?: string;
  allowGlobal: string[];
  denyGlobal: string[];
  config?: string;
  jobs?: string;
  color: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command('scan')
    .description('scan model files (pickle, PyTorch, NumPy, joblib, Keras, TensorFlow, ONNX, safetensors, GGUF, archives) for code that runs on load')
    .argument('<paths...>', 'files or directories (walked recursively, no file skipped)')
    .option('--format <format>', 'table, json or sarif', 'table')
    .option('-o, --output <file>', 'write the report to a file instead of standard output')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity: info, low, medium, high, critical (default high)')
    .option('--baseline <file>', 'accept the reviewed findings listed in this baseline file')
    .option('--write-baseline <file>', 'write every finding of this scan to a baseline file')
    .option('--allow-global <global>', 'treat a pickle global (module.name or module.*) as safe; repeatable', collect, [])
    .option('--deny-global <global>', 'treat a pickle global (module.name or module.*) as dangerous; repeatable', collect, [])
    .option('--config <file>', 'scan configuration file (rampart.scan.yaml)')
    .option('--jobs <n>', 'files scanned in parallel')
    .option('--no-color', 'no ANSI colour in the table');
  // Datasets (docs/datasets.md): with --label the paths are scanned as training data.
  addScanEventFlags(addDatasetFlags(cmd)).action(async (paths: string[], flags: ScanFlags) => {
      if (flags.label !== undefined) return runDatasetScanCommand(paths, flags);
      let failOn: Severity | undefined;
      if (flags.failOn !== undefined) {
        if (!isSeverity(flags.failOn)) throw new UsageError(`--fail-on must be one of info, low, medium, high, critical`);
        failOn = flags.failOn;
      }
      const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
      if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)) throw new UsageError('--jobs must be an integer from 1 to 64');
      const color = flags.color && !flags.output && shouldColor(process.stdout);
      const { runScan } = await import('../../scan/run-scan.js');
      const r = await runScan(
        paths,
        {
          format: flags.format,
          failOn,
          baseline: flags.baseline,
          writeBaseline: flags.writeBaseline,
          allowGlobals: flags.allowGlobal,
          denyGlobals: flags.denyGlobal,
          config: flags.config,
          jobs,
          color,
          version: VERSION,
        },
        createLogger({ level: process.env.RAMPART_LOG_LEVEL ?? 'warn' }),
      );
      if (flags.output) writeFileReplacing(flags.output, r.output);
      else process.stdout.write(r.output);
      await recordScanResult(flags, 'model', paths, r.report, r.exitCode);
      if (r.exitCode !== 0) throw new ExitCode(r.exitCode);
    });
}
