// `rampart audit verify|tail|export`: checks the audit hash chain (exit 0 intact, 1 tampered with
// the first bad seq and reason on one line), shows the latest records, exports JSON Lines.
// The store is found like `rampart keys` finds it: --config FILE or --store PATH (docs/audit.md).
import type { Command } from 'commander';
import { once } from 'node:events';
import {
  entryToJsonl,
  exportAuditJsonlFile,
  followAudit,
  lastAuditEntries,
  verifyAudit,
  verifyAuditExport,
  writeAuditJsonl,
  type ExportFilter,
  type VerifyResult,
} from '../../audit/index.js';
import { UsageError } from '../../core/errors.js';
import { openStoreFromCli, type StoreCliOptions } from '../../store/cli.js';
import type { AuditCheckpoint, AuditEntry, Store } from '../../store/types.js';
import { ExitCode } from '../exit-code.js';

async function withStore<T>(opts: StoreCliOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStoreFromCli({ config: opts.config, store: opts.store });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function parseAnchor(v: string, prev: AuditCheckpoint[] = []): AuditCheckpoint[] {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(v.trim());
  if (!m) throw new UsageError(`--anchor must be SEQ:HASH (64 hex digits), got ${JSON.stringify(v)}`);
  return [...prev, { seq: Number(m[1]), hash: m[2]!, time: 0 }];
}

function parseTime(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new UsageError(`${flag} must be an ISO 8601 time, got ${JSON.stringify(v)}`);
  return t;
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`-n must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

const COLUMNS = ['seq', 'time', 'principal', 'model', 'action', 'decision', 'status', 'ms', 'id'] as const;
const WIDTHS = [7, 24, 16, 16, 7, 8, 6, 8, 0];

function tableRow(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? c.padEnd(WIDTHS[i]!) : c)).join(' ').trimEnd();
}

function entryRow(e: AuditEntry): string {
  let r: Record<string, unknown> = {};
  try {
    r = JSON.parse(e.body) as Record<string, unknown>;
  } catch {
    // Shown as an empty row; `audit verify` reports the damage.
  }
  const s = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  return tableRow([
    String(e.seq),
    s(r.time ?? new Date(e.time).toISOString()),
    s(r.principal),
    s(r.model),
    s(r.action),
    s(r.decision),
    s(r.status),
    typeof r.latencyMs === 'number' ? r.latencyMs.toFixed(1) : '-',
    s(r.id),
  ]);
}

async function writeOut(s: string): Promise<void> {
  if (!process.stdout.write(s)) await once(process.stdout, 'drain');
}

export function register(program: Command): void {
  const audit = program.command('audit').description('verify, show and export the tamper-evident audit trail');
  const storeFlags = (c: Command) =>
    c
      .option('--config <file>', "gateway config file; its 'store' section names the store")
      .option('--store <path>', 'SQLite store file (default: ./rampart.db)');

  storeFlags(
    audit
      .command('verify')
      .description('check the hash chain and checkpoints: exit 0 intact, 1 tampered (first bad seq and reason), 2 could not check')
      .option('--file <export.jsonl>', 'verify an exported JSON Lines file instead of a store')
      .option('--anchor <seq:hash>', 'a trusted checkpoint kept outside the store (repeatable)', parseAnchor)
      .option('--format <format>', 'text or json', 'text'),
  ).action(async (flags: StoreCliOptions & { file?: string; anchor?: AuditCheckpoint[]; format: string }) => {
    if (flags.format !== 'text' && flags.format !== 'json') throw new UsageError('--format must be text or json');
    if (flags.file !== undefined && (flags.config !== undefined || flags.store !== undefined)) {
      throw new UsageError('give --file EXPORT or a store (--config FILE / --store PATH), not both');
    }
    const anchors = flags.anchor ?? [];
    const r: VerifyResult & { firstSeq?: number } = flags.file
      ? await verifyAuditExport(flags.file, { anchors })
      : await withStore(flags, (store) => verifyAudit(store.audit, { anchors }));
    const firstSeq = r.firstSeq ?? 1;
    if (flags.format === 'json') {
      await writeOut(`${JSON.stringify(r)}\n`);
    } else if (r.ok) {
      const what = flags.file ? 'audit export intact' : 'audit chain intact';
      const partial = firstSeq > 1 ? ` (starts at seq ${firstSeq}; its link to earlier entries is taken on trust)` : '';
      await writeOut(`${what}: ${r.checked} entries, ${r.checkpoints} checkpoint(s) matched, head seq ${r.lastSeq}${partial}\n`);
    } else {
      const b = r.firstBad!;
      await writeOut(`audit ${flags.file ? 'export' : 'chain'} TAMPERED: first bad seq ${b.seq}: ${b.reason} (${b.detail})\n`);
    }
    if (!r.ok) throw new ExitCode(1);
  });

  storeFlags(
    audit
      .command('tail')
      .description('show the latest audit records')
      .option('-n, --lines <n>', 'how many records', '20')
      .option('-f, --follow', 'keep printing new records as they are written (Ctrl-C to stop)', false)
      .option('--interval <ms>', 'with --follow: how often to look for new records', '1000')
      .option('--format <format>', 'table or json (one JSON Lines record per line, as in export)', 'table'),
  ).action(async (flags: StoreCliOptions & { lines: string; follow: boolean; interval: string; format: string }) => {
    if (flags.format !== 'table' && flags.format !== 'json') throw new UsageError('--format must be table or json');
    const n = parseCount(flags.lines);
    const interval = parseCount(flags.interval);
    const show = (e: AuditEntry) => (flags.format === 'json' ? `${entryToJsonl(e)}\n` : `${entryRow(e)}\n`);
    await withStore(flags, async (store) => {
      if (flags.format === 'table') await writeOut(`${tableRow([...COLUMNS])}\n`);
      const last = await lastAuditEntries(store.audit, n);
      for (const e of last) await writeOut(show(e));
      if (!flags.follow) return;
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const head = await store.audit.lastAudit();
        for await (const e of followAudit(store.audit, (head?.seq ?? 0) + 1, Math.max(50, interval), ac.signal)) await writeOut(show(e));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
  });

  storeFlags(
    audit
      .command('export')
      .description('export audit records as JSON Lines (streamed; -o writes a temporary file and renames it when complete)')
      .requiredOption('--format <format>', 'jsonl')
      .option('-o, --output <file>', 'write to this file instead of standard output')
      .option('--since <iso>', 'only records written at or after this time')
      .option('--until <iso>', 'only records written before this time'),
  ).action(async (flags: StoreCliOptions & { format: string; output?: string; since?: string; until?: string }) => {
    if (flags.format !== 'jsonl') throw new UsageError('--format must be jsonl');
    const filter: ExportFilter = {};
    const since = parseTime('--since', flags.since);
    const until = parseTime('--until', flags.until);
    if (since !== undefined) filter.since = since;
    if (until !== undefined) filter.until = until;
    const count = await withStore(flags, (store) =>
      flags.output ? exportAuditJsonlFile(store.audit, flags.output, filter) : writeAuditJsonl(store.audit, process.stdout, filter),
    );
    if (flags.output) process.stderr.write(`exported ${count} audit record(s) to ${flags.output}\n`);
  });
}
