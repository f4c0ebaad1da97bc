// `rampart dataset scan|baseline|diff`: training-data poisoning checks (docs/datasets.md).
// `rampart scan DATA --label COLUMN` runs the same scan as `rampart dataset scan`.
import { readFileSync, renameSync } from 'node:fs';
import type { Command } from 'commander';
import type { ScanEventFlags } from './scan-events.js';
import { UsageError } from '../../core/errors.js';
import { replaceTarget, writeFileReplacing } from '../../core/replace-file.js';
import { createLogger } from '../../core/logger.js';
import { isSeverity, type Severity } from '../../core/types.js';
import { buildBaseline, diffRows, readBaseline, writeBaseline } from '../../dataset/baseline.js';
import { MULTIVARIATE_MAX_FEATURES } from '../../dataset/multivariate-baseline.js';
import { readDataset } from '../../dataset/read-dataset.js';
import { runDatasetScan } from '../../dataset/run-dataset-scan.js';
import { shouldColor } from '../../report/index.js';
import { ExitCode } from '../exit-code.js';
import { VERSION } from '../version.js';
import type { DatasetRecordStore } from '../../store/types.js';

export interface DatasetScanFlags {
  label?: string;
  id?: string;
  source?: string;
  embeddings?: string;
  dataBaseline?: string;
  writeClean?: string;
  quarantine?: string;
  neighbours?: boolean;
  featureScale?: string;
  outlierRate?: string;
  chunkRows?: string;
  header?: boolean;
  format: string;
  output?: string;
  failOn?: string;
  color: boolean;
}

/** Adds the dataset flags to a command (shared by `rampart scan` and `rampart dataset scan`). */
export function addDatasetFlags(cmd: Command): Command {
  return cmd
    .option('--label <column>', 'dataset label column (name, or 0-based index without a header): scans the paths as datasets')
    .option('--id <column>', 'dataset row id column (manifest key for diffs)')
    .option('--source <column>', 'dataset column naming each row\'s supplier (provenance scores)')
    .option('--embeddings <file>', 'embeddings, one vector per dataset row (.npy or CSV), for backdoor checks')
    .option('--data-baseline <file>', 'trusted dataset baseline from `rampart dataset baseline`')
    .option('--write-clean <file>', 'write dataset rows without findings at or above --fail-on to this file, in the input\'s format (docs/datasets.md)')
    .option('--quarantine <file>', 'write the other dataset rows to this file, in the same way')
    .option('--no-neighbours', 'skip the k-NN checks (label noise, near duplicates)')
    .option('--feature-scale <mode>', 'feature scaling for the k-NN checks: auto (default: the one whose k-NN vote fits the labels best), standard, or none (features on one scale, e.g. pixels)')
    .option('--outlier-rate <share>', 'share of rows the multivariate outlier check may raise at medium (default 0.005)')
    .option('--chunk-rows <n>', 'read and check the dataset N rows at a time, for data whose table does not fit in memory (skips the k-NN checks; docs/datasets.md)');
}

export async function runDatasetScanCommand(paths: string[], flags: DatasetScanFlags): Promise<void> {
  let failOn: Severity | undefined;
  if (flags.failOn !== undefined) {
    if (!isSeverity(flags.failOn)) throw new UsageError('--fail-on must be one of info, low, medium, high, critical');
    failOn = flags.failOn;
  }
  if (flags.featureScale !== undefined && !['auto', 'standard', 'none'].includes(flags.featureScale)) throw new UsageError('--feature-scale must be auto, standard or none');
  const outlierRate = flags.outlierRate === undefined ? undefined : Number(flags.outlierRate);
  if (outlierRate !== undefined && !(outlierRate > 0 && outlierRate < 0.5)) throw new UsageError('--outlier-rate must be a number between 0 and 0.5 (a share of rows, e.g. 0.005)');
  const chunkRows = flags.chunkRows === undefined ? undefined : Number(flags.chunkRows);
  if (chunkRows !== undefined && !(Number.isInteger(chunkRows) && chunkRows >= 1)) throw new UsageError('--chunk-rows must be a positive integer');
  const color = flags.color && !flags.output && shouldColor(process.stdout);
  const r = await runDatasetScan(
    paths,
    {
      format: flags.format,
      failOn,
      color,
      version: VERSION,
      label: flags.label,
      id: flags.id,
      source: flags.source,
      embeddings: flags.embeddings,
      dataBaseline: flags.dataBaseline,
      writeClean: flags.writeClean,
      quarantine: flags.quarantine,
      noNeighbours: flags.neighbours === false,
      ...(flags.featureScale ? { featureScale: flags.featureScale as 'auto' | 'standard' | 'none' } : {}),
      ...(outlierRate !== undefined ? { outlierRate } : {}),
      ...(chunkRows !== undefined ? { chunkRows } : {}),
      ...(flags.header !== undefined ? { header: flags.header } : {}),
    },
    createLogger({ level: process.env.RAMPART_LOG_LEVEL ?? 'warn' }),
  );
  if (flags.output) writeFileReplacing(flags.output, r.output);
  else process.stdout.write(r.output);
  if (r.skipped) process.stderr.write(`rampart: chunked scan: ${r.skipped.join(', ')} need every row in memory and were not run (--no-neighbours silences this)\n`);
  if (r.split) process.stderr.write(`rampart: ${r.split.clean} clean rows, ${r.split.quarantined} quarantined\n`);
  const { recordScanResult } = await import('./scan-events.js');
  await recordScanResult(flags as ScanEventFlags, 'dataset', paths, r.report, r.exitCode);
  if (r.exitCode !== 0) throw new ExitCode(r.exitCode);
}

function isBaselineFile(file: string): boolean {
  try {
    const head = readFileSync(file, 'utf8').slice(0, 200);
    return head.includes('"rampart-dataset-baseline"');
  } catch {
    return false;
  }
}

export function register(program: Command): void {
  const ds = program.command('dataset').description('training-data checks: scan, baseline, diff (docs/datasets.md)');
  addDatasetFlags(
    ds
      .command('scan')
      .description('scan datasets for poisoned, mislabelled, duplicated and out-of-distribution rows')
      .argument('<paths...>', 'dataset files: CSV, JSON Lines (optionally gzip), .npy, .npz, Parquet')
      .option('--format <format>', 'table, json or sarif', 'table')
      .option('-o, --output <file>', 'write the report to a file')
      .option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity (default high)')
      .option('--header', 'the first CSV line is a header')
      .option('--no-header', 'the first CSV line is data')
      .option('--no-color', 'no ANSI colour in the table'),
  ).action(async (paths: string[], flags: DatasetScanFlags) => runDatasetScanCommand(paths, flags));

  ds.command('baseline')
    .description('record a trusted baseline of a dataset: schema, types, ranges, quantiles, class balance, row-hash manifest')
    .argument('<data>', 'dataset file')
    .requiredOption('-o, --output <file>', 'baseline file to write (JSON)')
    .option('--label <column>', 'label column')
    .option('--id <column>', 'row id column (manifest key)')
    .action(async (data: string, flags: { output: string; label?: string; id?: string }) => {
      const d = await readDataset(data, { label: flags.label, id: flags.id });
      const b = buildBaseline(d, flags.label);
      writeBaseline(flags.output, b);
      const mv = b.multivariate ? `multivariate model of ${b.multivariate.features.length} features` : `no multivariate model (needs 1-${MULTIVARIATE_MAX_FEATURES} non-constant numeric features and enough rows)`;
      process.stderr.write(`rampart: baseline of ${d.n} rows, ${d.columns.length} columns (${mv}) written to ${flags.output}\n`);
    });

  const storeFlags = (c: Command) =>
    c.option('--config <file>', 'gateway config whose store holds the records').option('--store <path>', 'SQLite store file (default ./rampart.db)');
  storeFlags(
    ds
      .command('records')
      .description('export the records the gateway ingestion route stored for a dataset (accepted by default)')
      .argument('<name>', 'dataset name (gateway `datasets:`)')
      .option('--accepted', 'accepted records (the default)')
      .option('--quarantined', 'quarantined records, for review')
      .option('--format <format>', 'jsonl (records as received), json (with ids and findings) or table', 'jsonl')
      .option('--limit <n>', 'most records written')
      .option('-o, --output <file>', 'write to a file (written to a temporary name, then renamed)'),
  ).action(async (name: string, flags: { accepted?: boolean; quarantined?: boolean; format: string; limit?: string; output?: string; config?: string; store?: string }) => {
    if (flags.accepted && flags.quarantined) throw new UsageError('give --accepted or --quarantined, not both');
    const limit = flags.limit === undefined ? undefined : Number(flags.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit must be a positive integer');
    await withDatasetStore(flags, async (st) => {
      const { exportRecords } = await import('../../dataset/records-cli.js');
      const o = { dataset: name, status: flags.quarantined ? ('quarantined' as const) : ('accepted' as const), format: flags.format as 'jsonl', limit };
      if (!flags.output) {
        const n = await exportRecords(st, o, process.stdout);
        process.stderr.write(`rampart: ${n} ${o.status} record(s) of ${name}\n`);
        return;
      }
      const { createWriteStream, rmSync } = await import('node:fs');
      const t = replaceTarget(flags.output);
      const out = t.tmp ? createWriteStream(t.tmp, { flags: 'wx', mode: t.mode ?? 0o666 }) : createWriteStream(t.final);
      let n: number;
      try {
        n = await exportRecords(st, o, out);
        await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
        if (t.tmp) renameSync(t.tmp, t.final);
      } catch (err) {
        out.destroy();
        if (t.tmp) rmSync(t.tmp, { force: true });
        throw err;
      }
      process.stderr.write(`rampart: ${n} ${o.status} record(s) of ${name} written to ${flags.output}\n`);
    });
  });

  storeFlags(
    ds
      .command('release')
      .description('release a quarantined record after review: it moves to the accepted records')
      .argument('<name>', 'dataset name')
      .argument('<id>', 'record id (from the ingestion answer or `records --quarantined`)')
      .option('--by <who>', 'reviewer recorded with the release (default $USER)'),
  ).action(async (name: string, id: string, flags: { by?: string; config?: string; store?: string }) => {
    await withDatasetStore(flags, async (st) => {
      const by = flags.by ?? process.env.USER ?? process.env.USERNAME ?? 'cli';
      const r = await st.releaseDatasetRecord(name, id, by, Date.now());
      if (!r) {
        const { DatasetRecordNotFoundError } = await import('../../dataset/errors.js');
        throw new DatasetRecordNotFoundError(`no quarantined record ${id} in dataset ${name}`);
      }
      process.stdout.write(`released ${r.id} (${name}) by ${by}\n`);
    });
  });

  ds.command('diff')
    .description('new, changed and removed rows between two versions of a dataset (OLD may be a baseline file)')
    .argument('<old>', 'older dataset file, or a baseline from `rampart dataset baseline`')
    .argument('<new>', 'newer dataset file')
    .option('--id <column>', 'row id column: rows with the same id and other content are "changed"')
    .option('--format <format>', 'table or json', 'table')
    .action(async (oldFile: string, newFile: string, flags: { id?: string; format: string }) => {
      if (flags.format !== 'table' && flags.format !== 'json') throw new UsageError('--format must be table or json');
      const nw = await readDataset(newFile, { id: flags.id });
      // OLD's manifest: a baseline's, or built from OLD read with the same --id.
      const manifest = isBaselineFile(oldFile) ? readBaseline(oldFile).manifest : buildBaseline(await readDataset(oldFile, { id: flags.id })).manifest;
      const diff = diffRows(manifest, nw);
      // Rows of NEW that are added or changed, by 0-based row index and line, to check first; the key
      // is the row's id when NEW has ids, else its content hash.
      const rows = diff.freshRows.map((i) => ({ row: i, ...(nw.lines ? { line: nw.lines[i] } : {}), key: nw.ids?.[i] ?? nw.rowHashes[i]!, status: diff.changedRows.has(i) ? 'changed' : 'new' }));
      if (flags.format === 'json') {
        process.stdout.write(JSON.stringify({ added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length, unchanged: diff.unchanged, rows, removedKeys: diff.removed }, null, 2) + '\n');
      } else {
        process.stdout.write(`added ${diff.added.length}, changed ${diff.changed.length}, removed ${diff.removed.length}, unchanged ${diff.unchanged}\n`);
        for (const r of rows.slice(0, 1000)) process.stdout.write(`row ${r.row}${r.line !== undefined ? ` (line ${r.line})` : ''}: ${r.status} ${r.key}\n`);
        if (rows.length > 1000) process.stdout.write(`… ${rows.length - 1000} more (use --format json)\n`);
      }
    });
}

async function withDatasetStore(flags: { config?: string; store?: string }, fn: (s: DatasetRecordStore) => Promise<void>): Promise<void> {
  const { openStoreFromCli } = await import('../../store/cli.js');
  const store = await openStoreFromCli(flags, { logger: createLogger({ level: 'warn', name: 'rampart-dataset' }) });
  try {
    if (!store.datasets) {
      const { DatasetConfigInvalidError } = await import('../../dataset/errors.js');
      throw new DatasetConfigInvalidError(`the ${store.kind} store keeps no dataset records`);
    }
    await fn(store.datasets);
  } finally {
    await store.close();
  }
}
