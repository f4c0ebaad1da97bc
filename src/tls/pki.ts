// A small local PKI for development and tests: a CA, server certificates for a list of host
// names / IP addresses and client certificates for mTLS, all as PEM strings made in code.
// Node has no X.509 generation API, so certificates are built with @peculiar/x509 on Node's
// WebCrypto; keys are ECDSA P-256 (fast to make, accepted by every TLS 1.2/1.3 client).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { CertGenerationError } from './errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate with its private key, both PEM. */
export interface CertKeyPem {
  certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  keyPem: string;
}

/** A certificate authority able to issue further certificates. */
export interface CertificateAuthority extends CertKeyPem {
  /** The signing key, kept in memory only. */
  readonly signingKey: CryptoKey;
  readonly cert: x509.X509Certificate;
}

export interface CaOptions {
  commonName?: string;
  validDays?: number;
}

export interface LeafOptions {
  commonName: string;
  /** DNS names and IP addresses put in the subjectAltName (server certificates need at least one). */
  hosts?: readonly string[];
  /** Extra URI SANs (e.g. `spiffe://example/ns/x`), useful for mTLS identities. */
  uris?: readonly string[];
  usage: 'server' | 'client';
  validDays?: number;
}

export interface DevPkiOptions {
  hosts?: readonly string[];
  clients?: readonly string[];
  validDays?: number;
  caCommonName?: string;
}

export interface DevPki {
  ca: CertificateAuthority;
  server: CertKeyPem;
  clients: Record<string, CertKeyPem>;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  if (b[0] === 0) b[0] = 1; // no leading zero byte (DER minimal encoding)
  return b.toString('hex');
}

/** Escapes a value for use inside an RFC 4514 distinguished-name string. */
function dnValue(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // Back-date by an hour so a client whose clock is slightly behind accepts the certificate.
  const now = Date.now();
  return { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + days * DAY_MS) };
}

/** Creates a self-signed CA certificate (ECDSA P-256, SHA-256). */
export async function createCa(opts: CaOptions = {}): Promise<CertificateAuthority> {
  try {
    const keys = await newKeys();
    const name = `CN=${dnValue(opts.commonName ?? 'Rampart Development CA')}, O=Rampart`;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name,
      ...validity(opts.validDays ?? 3650),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { cert, certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey), signingKey: keys.privateKey };
  } catch (e) {
    throw new CertGenerationError(`cannot create CA: ${(e as Error).message}`, { cause: e });
  }
}

/** Issues a server or client certificate signed by `ca`. */
export async function issueCert(ca: CertificateAuthority, opts: LeafOptions): Promise<CertKeyPem> {
  const hosts = opts.hosts ?? [];
  if (opts.usage === 'server' && hosts.length === 0) {
    throw new CertGenerationError('a server certificate needs at least one host name or IP address');
  }
  try {
    const keys = await newKeys();
    const names: { type: 'dns' | 'ip' | 'url'; value: string }[] = [
      ...hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })),
      ...(opts.uris ?? []).map((u) => ({ type: 'url' as const, value: u })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ];
    if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${dnValue(opts.commonName)}, O=Rampart`,
      issuer: ca.cert.subject,
      ...validity(opts.validDays ?? 825),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      extensions,
    });
    return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
  } catch (e) {
    if (e instanceof CertGenerationError) throw e;
    throw new CertGenerationError(`cannot issue certificate for ${opts.commonName}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Makes a CA, one server certificate for `hosts` (default localhost, 127.0.0.1, ::1) and one
 * client certificate per name in `clients` (the name is the certificate's CN).
 *
 * @example
 * const pki = await createDevPki({ clients: ['alice'] });
 * https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem });
 */
export async function createDevPki(opts: DevPkiOptions = {}): Promise<DevPki> {
  const hosts = opts.hosts && opts.hosts.length ? opts.hosts : ['localhost', '127.0.0.1', '::1'];
  const ca = await createCa({ commonName: opts.caCommonName, validDays: opts.validDays ? Math.max(opts.validDays, 1) : undefined });
  const server = await issueCert(ca, { commonName: hosts[0]!, hosts, usage: 'server', validDays: opts.validDays });
  const clients: Record<string, CertKeyPem> = {};
  for (const name of opts.clients ?? []) {
    clients[name] = await issueCert(ca, { commonName: name, usage: 'client', validDays: opts.validDays });
  }
  return { ca, server, clients };
}
