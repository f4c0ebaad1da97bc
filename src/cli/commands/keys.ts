// `rampart keys create|list|revoke`: API keys for the gateway (see docs/auth.md). The key is
// printed once by `create`; only the SHA-256 of its secret is stored. The store is the one of the
// gateway config (--config), a SQLite file (--store), or ./rampart.db.
//
// Other modules add subcommands to the same `keys` command through `keysCommand(program)` and
// variants of `keys list` through `addKeysListVariant` (issue 4: create-kek, rotate, --keyring).
import type { Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey, type PublicApiKey } from '../../auth/api-keys.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { parseDuration } from '../../core/units.js';
import type { StoreCliOptions } from '../../store/cli.js';
import type { Store } from '../../store/types.js';

type StoreFlags = StoreCliOptions;

/** Opens the store of --config / --store (default ./rampart.db); only `create` may create a new SQLite file. */
async function withStore<T>(flags: StoreFlags, fn: (s: Store) => Promise<T>, create = false): Promise<T> {
  // Loaded on use: the store backends pull in database drivers other commands do not need.
  const { openStoreFromCli } = await import('../../store/cli.js');
  const store = await openStoreFromCli(flags, { create, logger: createLogger({ level: 'warn', name: 'rampart-keys' }) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The `keys` command, created on first use so that modules can register in any order. */
export function keysCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'keys');
  if (existing) return existing;
  return program.command('keys').description('manage gateway API keys (and, with issue 4, key-encryption keys)');
}

/** An alternative behaviour of `keys list`, selected by an option it adds (e.g. `--keyring FILE`). */
export interface KeysListVariant {
  /** Commander flags, e.g. `--keyring <file>`. */
  flags: string;
  description: string;
  /** True when this variant should handle the call (e.g. `opts.keyring !== undefined`). */
  matches(opts: Record<string, unknown>): boolean;
  run(opts: Record<string, unknown>): Promise<void>;
}

const listVariants = new WeakMap<Command, KeysListVariant[]>();

function variantsOf(program: Command): KeysListVariant[] {
  let v = listVariants.get(program);
  if (!v) listVariants.set(program, (v = []));
  return v;
}

/** Adds a variant to `keys list`, whether or not `keys list` has been registered yet. */
export function addKeysListVariant(program: Command, variant: KeysListVariant): void {
  variantsOf(program).push(variant);
  const list = keysCommand(program).commands.find((c) => c.name() === 'list');
  if (list) list.option(variant.flags, variant.description);
}

function status(k: PublicApiKey, now: number): string {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  return 'active';
}

function iso(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function checkFormat(f: string, allowed: string[]): void {
  if (!allowed.includes(f)) throw new UsageError(`--format must be one of ${allowed.join(', ')}`);
}

export function register(program: Command): void {
  const keys = keysCommand(program);
  const storeOpts = (c: Command): Command =>
    c.option('--config <file>', 'gateway config whose store holds the keys').option('--store <path>', 'SQLite store file (default ./rampart.db)');

  storeOpts(
    keys
      .command('create')
      .description('create an API key and print it once')
      .requiredOption('--principal <name>', 'principal id the key authenticates as')
      .option('--roles <list>', 'comma-separated roles', '')
      .option('--kind <kind>', 'user or service', 'user')
      .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: never expires)')
      .option('--description <text>', 'free text shown by keys list')
      .option('--format <format>', 'text (the key alone on stdout) or json', 'text'),
  ).action(async (o: StoreFlags & { principal: string; roles: string; kind: string; expires?: string; description?: string; format: string }) => {
    checkFormat(o.format, ['text', 'json']);
    if (o.kind !== 'user' && o.kind !== 'service') throw new UsageError('--kind must be user or service');
    const roles = o.roles.split(',').map((r) => r.trim()).filter(Boolean);
    const expiresInMs = o.expires === undefined ? null : parseDuration(o.expires);
    const created = await withStore(
      o,
      async (s) => {
        const c = await createApiKey(s.keys, { principal: o.principal, roles, kind: o.kind as 'user' | 'service', expiresInMs, description: o.description ?? null });
        // The key operation joins the monitoring event history (best effort; docs/events.md).
        const { keyOperationEvent, recordEvents } = await import('../../events/record.js');
        await recordEvents(s, keyOperationEvent('create', c.record.id, c.record.principal));
        return c;
      },
      true,
    );
    if (o.format === 'json') {
      process.stdout.write(`${JSON.stringify({ key: created.key, ...created.record })}\n`);
    } else {
      process.stderr.write(
        `created API key ${created.record.id} for ${created.record.principal} (roles: ${roles.join(', ') || 'none'}; expires: ${iso(created.record.expiresAt)}).\n` +
          'It is shown only this once; store it now:\n',
      );
      process.stdout.write(`${created.key}\n`);
    }
  });

  const list = storeOpts(
    keys
      .command('list')
      .description('list API keys (never their secrets)')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (o: StoreFlags & { format: string } & Record<string, unknown>) => {
    for (const v of variantsOf(program)) if (v.matches(o)) return v.run(o);
    checkFormat(o.format, ['table', 'json']);
    const now = Date.now();
    const all = await withStore(o, (s) => listApiKeys(s.keys));
    all.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    if (o.format === 'json') {
      process.stdout.write(`${JSON.stringify(all.map((k) => ({ ...k, status: status(k, now) })), null, 2)}\n`);
      return;
    }
    const rows = [['ID', 'PRINCIPAL', 'KIND', 'ROLES', 'STATUS', 'CREATED', 'EXPIRES', 'DESCRIPTION']];
    for (const k of all) rows.push([k.id, k.principal, k.kind, k.roles.join(',') || '-', status(k, now), iso(k.createdAt), iso(k.expiresAt), k.description ?? '']);
    process.stdout.write(table(rows));
  });
  for (const v of variantsOf(program)) list.option(v.flags, v.description);

  storeOpts(keys.command('revoke').description('revoke an API key by id').argument('<id>', 'key id (the part after rk_)')).action(
    async (id: string, o: StoreFlags) => {
      await withStore(o, async (s) => {
        await revokeApiKey(s.keys, id);
        const { keyOperationEvent, recordEvents } = await import('../../events/record.js');
        await recordEvents(s, keyOperationEvent('revoke', id));
      });
      process.stdout.write(`revoked API key ${id}\n`);
    },
  );
}
