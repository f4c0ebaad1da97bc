import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../test/helpers/fifo.js';
import { createDevPki, issueCert } from './pki.js';
import { writeDevPki } from './write-pki.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'rampart-pki-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('dev PKI', () => {
  it('issues a CA, a server certificate for the hosts and client certificates, all chaining to the CA', async () => {
    const pki = await createDevPki({ hosts: ['gw.local', '10.1.2.3'], clients: ['svc-a'] });
    const ca = new X509Certificate(pki.ca.certPem);
    const server = new X509Certificate(pki.server.certPem);
    const client = new X509Certificate(pki.clients['svc-a']!.certPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('gw.local')).toBe('gw.local');
    expect(server.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(server.checkHost('other.local')).toBeUndefined();
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(client.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(client.subject).toContain('CN=svc-a');
    expect(server.checkPrivateKey(createPrivateKey(pki.server.keyPem))).toBe(true);
    expect(server.serialNumber).not.toBe(client.serialNumber);
  });

  it('refuses a server certificate without hosts with a coded error', async () => {
    const pki = await createDevPki();
    await expect(issueCert(pki.ca, { commonName: 'x', usage: 'server' })).rejects.toMatchObject({ code: 'RAMPART_ERR_TLS_CERT_GENERATION' });
  });

  it('writes PEM files with private keys mode 0600 and never overwrites without force', async () => {
    const dir = join(tmp(), 'certs');
    const out = await writeDevPki({ dir, clients: ['alice', 'bob'] });
    expect(readdirSync(dir).sort()).toEqual(
      ['ca-key.pem', 'ca.pem', 'client-alice-key.pem', 'client-alice.pem', 'client-bob-key.pem', 'client-bob.pem', 'server-key.pem', 'server.pem'].sort(),
    );
    for (const key of [out.caKey, out.serverKey, out.clients.alice!.key]) expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(out.caCert).mode & 0o777).toBe(0o644);
    const before = readFileSync(out.serverCert, 'utf8');
    await expect(writeDevPki({ dir })).rejects.toMatchObject({ code: 'RAMPART_ERR_TLS_OUTPUT_EXISTS' });
    expect(readFileSync(out.serverCert, 'utf8')).toBe(before);
    await writeDevPki({ dir, force: true });
    expect(readFileSync(out.serverCert, 'utf8')).not.toBe(before);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('certs init --force: a certificate FIFO is written into, a key link has its file replaced, a key FIFO is refused first', async () => {
    const dir = join(tmp(), 'special');
    mkdirSync(dir);
    const fifo = makeFifo(dir, 'server.pem');
    if (!fifo) return;
    const elsewhere = join(tmp(), 'ca-key-real.pem');
    writeFileSync(elsewhere, 'old key', { mode: 0o644 });
    symlinkSync(elsewhere, join(dir, 'ca-key.pem'));
    const got = drainFifo(fifo);
    const out = await writeDevPki({ dir, force: true });
    expect((await got).toString()).toContain('BEGIN CERTIFICATE');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(out.caKey).isSymbolicLink()).toBe(true);
    expect(readFileSync(elsewhere, 'utf8')).toContain('PRIVATE KEY');
    expect(statSync(elsewhere).mode & 0o777).toBe(0o600);

    const keyDir = join(tmp(), 'key-fifo');
    mkdirSync(keyDir);
    const keyFifo = makeFifo(keyDir, 'server-key.pem')!;
    await expect(writeDevPki({ dir: keyDir, force: true })).rejects.toMatchObject({ code: 'RAMPART_ERR_OUTPUT_NOT_REGULAR' });
    expect(readdirSync(keyDir)).toEqual(['server-key.pem']);
    expect(lstatSync(keyFifo).isFIFO()).toBe(true);
  });

  it('rejects client names that are not safe file names', async () => {
    const dir = tmp();
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(70)]) {
      await expect(writeDevPki({ dir, clients: [bad] })).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    }
    writeFileSync(join(dir, 'keep'), 'x');
    expect(existsSync(join(dir, 'ca.pem'))).toBe(false);
  });
});
