// `rampart alerts list|ack|resolve`: the security alerts raised by the monitor (docs/monitoring.md).
// The store is the one of the gateway config (--config), a SQLite file (--store), or ./rampart.db.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { StoreCliOptions } from '../../store/cli.js';
import type { AlertRecord, AlertStatus, AlertStore } from '../../store/types.js';

const STATUSES: readonly AlertStatus[] = ['open', 'acknowledged', 'resolved'];

async function withAlerts<T>(flags: StoreCliOptions, fn: (a: AlertStore) => Promise<T>): Promise<T> {
  const { openStoreFromCli } = await import('../../store/cli.js');
  const { MonitorStoreUnsupportedError } = await import('../../monitor/errors.js');
  const store = await openStoreFromCli(flags, { logger: createLogger({ level: 'warn', name: 'rampart-alerts' }) });
  try {
    if (!store.alerts) throw new MonitorStoreUnsupportedError(`the ${store.kind} store does not hold alerts`);
    return await fn(store.alerts);
  } finally {
    await store.close();
  }
}

function iso(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A plain fixed-width table of alerts (the id in full: it is what `ack`/`resolve` take). */
export function formatAlertTable(alerts: AlertRecord[]): string {
  const head = ['ID', 'STATUS', 'SEVERITY', 'DETECTOR', 'FIRST SEEN', 'COUNT', 'BY', 'TITLE'];
  const rows = alerts.map((a) => [a.id, a.status, a.severity, a.detector, iso(a.firstSeen), String(a.count), a.resolvedBy ?? a.ackedBy ?? '-', a.title.replace(/[\r\n\t]/g, ' ')]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 7 ? 0 : r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** The JSON form of an alert (details parsed). */
export function alertJson(a: AlertRecord): Record<string, unknown> {
  let details: unknown = a.details;
  try {
    details = JSON.parse(a.details);
  } catch {
    // Stored by an older writer: keep the text.
  }
  return { ...a, details };
}

function by(o: { by?: string }): string {
  return o.by ?? process.env.USER ?? process.env.USERNAME ?? 'cli';
}

export function register(program: Command): void {
  const alerts = program.command('alerts').description('list, acknowledge and resolve security alerts');
  const storeFlags = (c: Command) => c.option('--config <file>', 'gateway config whose store holds the alerts').option('--store <path>', 'SQLite store file (default ./rampart.db)');

  storeFlags(
    alerts
      .command('list')
      .description('list alerts, newest first')
      .option('--status <status>', 'open, acknowledged or resolved')
      .option('--limit <n>', 'most alerts shown', '100')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (o: StoreCliOptions & { status?: string; limit: string; format: string }) => {
    if (o.status !== undefined && !STATUSES.includes(o.status as AlertStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    if (!['table', 'json'].includes(o.format)) throw new UsageError('--format must be table or json');
    const limit = Number(o.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    const list = await withAlerts(o, (a) => a.listAlerts({ status: o.status as AlertStatus | undefined, limit }));
    process.stdout.write(o.format === 'json' ? `${JSON.stringify(list.map(alertJson), null, 2)}\n` : `${formatAlertTable(list)}\n`);
  });

  for (const [name, to] of [
    ['ack', 'acknowledged'],
    ['resolve', 'resolved'],
  ] as const) {
    storeFlags(
      alerts
        .command(`${name} <id>`)
        .description(name === 'ack' ? 'acknowledge an open alert' : 'resolve an open or acknowledged alert')
        .option('--by <name>', 'who is acting (default: $USER)')
        .option('--format <format>', 'text or json', 'text'),
    ).action(async (id: string, o: StoreCliOptions & { by?: string; format: string }) => {
      const { transitionAlert } = await import('../../monitor/alerts.js');
      const updated = await withAlerts(o, (a) => transitionAlert(a, id, to, by(o)));
      process.stdout.write(o.format === 'json' ? `${JSON.stringify(alertJson(updated))}\n` : `alert ${updated.id} ${updated.status} by ${by(o)}\n`);
    });
  }
}
