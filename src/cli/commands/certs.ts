// `rampart certs init --dir D`: a local CA, a server certificate and client certificates (PEM,
// private keys mode 0600) for development, tests and mTLS. Not a production CA: see docs/gateway.md.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function register(program: Command): void {
  const certs = program.command('certs').description('create certificates for the gateway (development and tests)');
  certs
    .command('init')
    .description('create a local CA, a server certificate and client certificates in a folder')
    .requiredOption('--dir <dir>', 'output folder (created if missing)')
    .option('--hosts <names>', 'comma-separated DNS names / IP addresses of the server certificate', 'localhost,127.0.0.1,::1')
    .option('--client <name...>', 'create a client certificate with this CN (repeatable, or comma-separated)')
    .option('--days <n>', 'validity of the server and client certificates in days', '825')
    .option('--force', 'replace existing files', false)
    .action(async (opts: { dir: string; hosts: string; client?: string[]; days: string; force: boolean }) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError('--days must be a whole number from 1 to 3650');
      const hosts = list(opts.hosts);
      if (hosts.length === 0) throw new UsageError('--hosts needs at least one name');
      const clients = (opts.client ?? []).flatMap((c) => list(c));
      const { writeDevPki } = await import('../../tls/write-pki.js');
      const out = await writeDevPki({ dir: opts.dir, hosts, clients, validDays: days, force: opts.force });
      const lines = [
        `CA certificate      ${out.caCert}`,
        `CA key (0600)       ${out.caKey}`,
        `server certificate  ${out.serverCert}  (${hosts.join(', ')})`,
        `server key (0600)   ${out.serverKey}`,
        ...Object.entries(out.clients).map(([n, c]) => `client ${n}: ${c.cert}, key ${c.key}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
