// Writes a development PKI (see pki.ts) to a folder as PEM files: certificates 0644, private keys
// 0600. Each file is written under a temporary name and renamed, so a failure never leaves a
// half-written key behind, and existing files are only replaced with `force`. A name that is a
// symbolic link has the file it points at replaced (the link kept). A certificate name that is a
// device or FIFO is written directly; a private-key name that is one is refused before anything is
// generated (RAMPART_ERR_OUTPUT_NOT_REGULAR): keys are only ever written whole to regular files.
import { lstatSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { replaceTarget, writeFileReplacing } from '../core/replace-file.js';
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
    // lstat: a dangling link exists too (it would be written through).
    const existing = targets.filter((t) => exists(t));
    if (existing.length) throw new CertOutputExistsError(`${existing[0]} already exists (use --force to replace)`);
  }
  for (const key of [out.caKey, out.serverKey, ...Object.values(out.clients).map((c) => c.key)]) replaceTarget(key, { regularOnly: true });
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
  for (const [path, text, mode] of files) writeFileReplacing(path, text, { mode, regularOnly: mode === 0o600 });
  return out;
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
