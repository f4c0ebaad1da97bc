// `rampart events list`: the monitoring event history kept in the store (docs/events.md) — what
// the gateway, the guards, scans and key operations reported — oldest first, as a table, JSON or
// JSON lines (for a SIEM shipper). The store is the one of the gateway config (--config), a SQLite
// file (--store), or ./rampart.db.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { parseDuration } from '../../core/units.js';
import { EVENT_TYPES, isEvent, type RampartEvent } from '../../events/schema.js';
import type { StoreCliOptions } from '../../store/cli.js';

interface ListFlags extends StoreCliOptions {
  type?: string;
  principal?: string;
  since: string;
  limit: string;
  format: string;
}

/** One line per event: time, type, severity, principal, model, then the data in short. */
export function formatEventTable(events: RampartEvent[]): string {
  const head = ['TIME', 'TYPE', 'SEVERITY', 'PRINCIPAL', 'MODEL', 'DATA'];
  const rows = events.map((e) => [
    new Date(e.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    e.type,
    e.severity ?? '-',
    e.principal ?? '-',
    e.model ?? '-',
    JSON.stringify(e.data).replace(/[\r\n\t]/g, ' ').slice(0, 160),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 5 ? 0 : r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function register(program: Command): void {
  const events = program.command('events').description('read the monitoring event history kept in the store');
  events
    .command('list')
    .description('list stored events, oldest first')
    .option('--config <file>', 'gateway config whose store holds the events')
    .option('--store <path>', 'SQLite store file (default ./rampart.db)')
    .option('--type <type>', `only this event type (${EVENT_TYPES.join(', ')})`)
    .option('--principal <id>', 'only events about this principal')
    .option('--since <duration>', 'how far back, e.g. 15m, 24h, 7d', '24h')
    .option('--limit <n>', 'most events shown', '1000')
    .option('--format <format>', 'table, json or jsonl', 'table')
    .action(async (o: ListFlags) => {
      if (!['table', 'json', 'jsonl'].includes(o.format)) throw new UsageError('--format must be table, json or jsonl');
      if (o.type !== undefined && !(EVENT_TYPES as readonly string[]).includes(o.type)) throw new UsageError(`--type must be one of ${EVENT_TYPES.join(', ')}`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new UsageError('--limit must be an integer from 1 to 1000000');
      let sinceMs: number;
      try {
        sinceMs = parseDuration(o.since);
      } catch (e) {
        throw new UsageError(`--since: ${(e as Error).message}`);
      }
      const { openStoreFromCli } = await import('../../store/cli.js');
      const { MonitorStoreUnsupportedError } = await import('../../monitor/errors.js');
      const store = await openStoreFromCli(o, { logger: createLogger({ level: 'warn', name: 'rampart-events' }) });
      let list: RampartEvent[];
      try {
        if (!store.events) throw new MonitorStoreUnsupportedError(`the ${store.kind} store does not hold events`);
        const rows = await store.events.readEvents({ fromTime: Date.now() - sinceMs, limit, ...(o.type ? { type: o.type } : {}), ...(o.principal ? { principal: o.principal } : {}) });
        list = rows.flatMap((r) => {
          try {
            const e: unknown = JSON.parse(r.body);
            return isEvent(e) ? [e] : [];
          } catch {
            return [];
          }
        });
      } finally {
        await store.close();
      }
      if (o.format === 'json') process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (o.format === 'jsonl') process.stdout.write(list.map((e) => `${JSON.stringify(e)}\n`).join(''));
      else process.stdout.write(`${formatEventTable(list)}\n`);
    });
}
