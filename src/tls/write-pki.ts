// Writes a development PKI (see pki.ts) to a folder as PEM files: certificates 0644, private keys
// 0600. Each file is written under a temporary name and renamed, so a failure never leaves a
// half-written key behind, and existing files are only replaced with `force`.
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import { CertOutputExistsError } from './errors.js';
import { createDevPki, type DevPkiOptions } from './pki.js';

export interface WritePkiOptions extends DevPkiOptions {
  dir: string;
  /** Replace files that already exist. */
  force?: boolean;
}

export interface WrittenPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clients: Record<string, { cert: string; key: string }>;
}

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Generates a CA, a server certificate and client certificates and writes them to `dir`. */
export async function writeDevPki(opts: WritePkiOptions): Promise<WrittenPki> {
  const dir = resolve(opts.dir);
  const clients = opts.clients ?? [];
  for (const c of clients) {
    if (!CLIENT_NAME.test(c)) throw new UsageError(`invalid client name "${c}" (letters, digits, . _ -; at most 64)`);
  }
  if (new Set(clients).size !== clients.length) throw new UsageError('duplicate client name');
  const out: WrittenPki = {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clients: Object.fromEntries(clients.map((c) => [c, { cert: join(dir, `client-${c}.pem`), key: join(dir, `client-${c}-key.pem`) }])),
  };
  const targets = [out.caCert, out.caKey, out.serverCert, out.serverKey, ...Object.values(out.clients).flatMap((c) => [c.cert, c.key])];
  if (!opts.force) {
    const existing = targets.filter((t) => existsSync(t));
    if (existing.length) throw new CertOutputExistsError(`${existing[0]} already exists (use --force to replace)`);
  }
  const pki = await createDevPki(opts);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files: [string, string, number][] = [
    [out.caCert, pki.ca.certPem, 0o644],
    [out.caKey, pki.ca.keyPem, 0o600],
    [out.serverCert, pki.server.certPem, 0o644],
    [out.serverKey, pki.server.keyPem, 0o600],
  ];
  for (const c of clients) {
    files.push([out.clients[c]!.cert, pki.clients[c]!.certPem, 0o644], [out.clients[c]!.key, pki.clients[c]!.keyPem, 0o600]);
  }
  for (const [path, text, mode] of files) writeAtomic(path, text, mode);
  return out;
}

/** Writes `text` to `path` via a temporary file in the same folder, with `mode` set before rename. */
export function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    chmodSync(tmp, mode); // the umask may have narrowed or widened nothing, but be explicit
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
