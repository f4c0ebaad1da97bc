// Certificate-mode trust: the bundle carries the signing (leaf) certificate first, then the
// intermediates; the verifier supplies the CA certificate(s) it trusts. Like the reference
// verifier (OpenSSL X509Store, verification time set to the leaf's notBefore, because a
// certificate-mode bundle carries no trusted timestamp), every certificate on the path must be
// valid at that instant, so an expired leaf still verifies; revocation is not checked. The leaf
// must allow digitalSignature (KeyUsage) or else code signing (ExtendedKeyUsage).
import { X509Certificate, type KeyObject } from 'node:crypto';

const OID_KEY_USAGE = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const MAX_DEPTH = 8;

export class ChainError extends Error {
  override name = 'ChainError';
}

/** Splits PEM text into certificates; throws ChainError if none parses. */
export function parsePemCertificates(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      certs.push(new X509Certificate(b));
    } catch {
      throw new ChainError('a PEM certificate block does not parse');
    }
  }
  if (certs.length === 0) throw new ChainError('no PEM certificate found');
  return certs;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new ChainError('truncated DER');
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new ChainError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new ChainError('truncated DER');
  return { tag, start: p, end: p + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.start; off < parent.end; ) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** The KeyUsage bits of a certificate (bit 0 = digitalSignature ... bit 5 = keyCertSign), or undefined if absent. */
export function keyUsageBits(der: Buffer): number | undefined {
  const cert = readTlv(der, 0, der.length);
  const tbs = children(der, cert)[0];
  if (!tbs) throw new ChainError('no tbsCertificate');
  const extsWrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  if (!extsWrapper) return undefined;
  const extSeq = children(der, extsWrapper)[0];
  if (!extSeq) return undefined;
  for (const ext of children(der, extSeq)) {
    const parts = children(der, ext);
    const oid = parts[0];
    if (!oid || !der.subarray(oid.start - 2, oid.end).equals(OID_KEY_USAGE)) continue;
    const octets = parts[parts.length - 1]!;
    const bits = readTlv(der, octets.start, octets.end);
    if (bits.tag !== 0x03 || bits.end - bits.start < 2) throw new ChainError('malformed KeyUsage');
    // Bit 0 is the most significant bit of the first content byte after the unused-bits count.
    const b0 = der[bits.start + 1]!;
    const b1 = bits.end - bits.start > 2 ? der[bits.start + 2]! : 0;
    let value = 0;
    for (let i = 0; i < 8; i++) if (b0 & (0x80 >> i)) value |= 1 << i;
    if (b1 & 0x80) value |= 1 << 8;
    return value;
  }
  return undefined;
}

const KU_DIGITAL_SIGNATURE = 1 << 0;
const KU_KEY_CERT_SIGN = 1 << 5;

function validAt(c: X509Certificate, t: Date): boolean {
  return new Date(c.validFrom).getTime() <= t.getTime() && t.getTime() <= new Date(c.validTo).getTime();
}

function describe(c: X509Certificate): string {
  return (c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject.split('\n')[0] ?? 'certificate').slice(0, 120);
}

function issues(issuer: X509Certificate, child: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkIssuer(c: X509Certificate, t: Date): void {
  if (!c.ca) throw new ChainError(`${describe(c)} is not a CA certificate`);
  const ku = keyUsageBits(c.raw);
  if (ku !== undefined && !(ku & KU_KEY_CERT_SIGN)) throw new ChainError(`${describe(c)} may not sign certificates`);
  if (!validAt(c, t)) throw new ChainError(`${describe(c)} was not valid at signing time ${t.toISOString()}`);
}

export interface ChainResult {
  /** The leaf's public key, to check the DSSE signature with. */
  publicKey: KeyObject;
  /** The instant the chain was evaluated at (the leaf's notBefore). */
  verifiedAt: Date;
  /** Subject CNs from leaf to anchor. */
  path: string[];
}

/**
 * Verifies a leaf-first chain from a bundle against trusted anchors. Throws ChainError on failure.
 *
 * @example
 * const { publicKey } = verifyChain(bundleDerCerts, parsePemCertificates(readFileSync('ca.pem', 'utf8')));
 */
export function verifyChain(chainDer: readonly Buffer[], anchors: readonly X509Certificate[]): ChainResult {
  let certs: X509Certificate[];
  try {
    certs = chainDer.map((d) => new X509Certificate(d));
  } catch {
    throw new ChainError('a certificate in the bundle does not parse');
  }
  const leaf = certs[0];
  if (!leaf) throw new ChainError('the bundle holds no certificate');
  const at = new Date(leaf.validFrom);
  if (Number.isNaN(at.getTime())) throw new ChainError('the signing certificate has no readable validity');

  const ku = keyUsageBits(leaf.raw);
  const eku = leaf.keyUsage ?? [];
  if (!((ku !== undefined && ku & KU_DIGITAL_SIGNATURE) || eku.includes(OID_CODE_SIGNING))) {
    throw new ChainError('the signing certificate may not be used for digital signatures or code signing');
  }
  if (leaf.publicKey.asymmetricKeyType !== 'ec') throw new ChainError('the signing certificate does not hold an EC key');

  const path = [describe(leaf)];
  const untrusted = certs.slice(1);
  let current = leaf;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (anchors.some((a) => a.raw.equals(current.raw))) return { publicKey: leaf.publicKey, verifiedAt: at, path };
    const anchor = anchors.find((a) => !a.raw.equals(current.raw) && issues(a, current));
    if (anchor) {
      checkIssuer(anchor, at);
      path.push(describe(anchor));
      return { publicKey: leaf.publicKey, verifiedAt: at, path };
    }
    const idx = untrusted.findIndex((c) => !c.raw.equals(current.raw) && issues(c, current));
    if (idx < 0) throw new ChainError(`no path from ${describe(leaf)} to the given CA (stopped at ${describe(current)})`);
    const next = untrusted.splice(idx, 1)[0]!;
    checkIssuer(next, at);
    path.push(describe(next));
    current = next;
  }
  throw new ChainError('the certificate chain is too long');
}
