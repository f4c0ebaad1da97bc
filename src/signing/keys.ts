// Loading and checking the ECDSA keys model signing uses. The reference supports the NIST curves
// P-256, P-384 and P-521 with SHA-256, SHA-384 and SHA-512 respectively (the hash follows the
// curve); signatures are ASN.1 DER. The bundle's key "hint" is the hex SHA-256 of the public key
// as a PEM SubjectPublicKeyInfo document (the reference's definition, v1.1 onwards).
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

const CURVE_HASH: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

/** The Sigstore keyDetails name of a supported key (informative only). */
export const CURVE_KEY_DETAILS: Record<string, string> = {
  prime256v1: 'PKIX_ECDSA_P256_SHA_256',
  secp384r1: 'PKIX_ECDSA_P384_SHA_384',
  secp521r1: 'PKIX_ECDSA_P521_SHA_512',
};

export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

/** The hash that goes with the key's curve; throws KeyFormatError for unsupported keys. */
export function hashForKey(key: KeyObject): 'sha256' | 'sha384' | 'sha512' {
  if (key.asymmetricKeyType !== 'ec') throw new KeyFormatError(`expected an EC key, got ${key.asymmetricKeyType ?? key.type}`);
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const h = CURVE_HASH[curve];
  if (!h) throw new KeyFormatError(`unsupported curve ${curve || 'unknown'} (P-256, P-384 or P-521 expected)`);
  return h;
}

/** Reads a PEM (PKCS#8 or SEC1) EC private key. Text around the PEM block is tolerated. */
export function loadPrivateKey(pem: Buffer, passphrase?: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
  } catch (err) {
    if (passphrase === undefined && pem.includes('ENCRYPTED')) throw new KeyFormatError('the key is encrypted: give its passphrase (--passphrase-env VAR)');
    throw new KeyFormatError(`not a readable PEM private key${passphrase === undefined ? '' : ' or wrong passphrase'} (${(err as { code?: string }).code ?? 'parse error'})`);
  }
  hashForKey(key);
  return key;
}

/** Reads a PEM or DER SubjectPublicKeyInfo EC public key (or takes it from a PEM certificate). */
export function loadPublicKey(data: Buffer): KeyObject {
  let key: KeyObject | undefined;
  const text = data.toString('latin1');
  try {
    if (text.includes('-----BEGIN')) key = createPublicKey({ key: data, format: 'pem' });
    else key = createPublicKey({ key: data, format: 'der', type: 'spki' });
  } catch (err) {
    throw new KeyFormatError(`not a readable public key (${(err as { code?: string }).code ?? 'parse error'})`);
  }
  if (key.type !== 'public') throw new KeyFormatError('expected a public key');
  hashForKey(key);
  return key;
}

export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }) as string;
}

/** The reference's public key hint: hex SHA-256 of the SPKI PEM text. */
export function publicKeyHint(key: KeyObject): string {
  return createHash('sha256').update(publicKeyPem(key), 'utf8').digest('hex');
}

export function signDer(key: KeyObject, data: Buffer): Buffer {
  return cryptoSign(hashForKey(key), data, { key, dsaEncoding: 'der' });
}

/** Verifies a DER ECDSA signature; false (never a throw) on malformed signatures. */
export function verifyDer(key: KeyObject, data: Buffer, signature: Buffer, hash: string = hashForKey(key)): boolean {
  try {
    return cryptoVerify(hash, data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

export function sameKey(a: KeyObject, b: KeyObject): boolean {
  const ea = (a.type === 'private' ? createPublicKey(a) : a).export({ type: 'spki', format: 'der' });
  const eb = (b.type === 'private' ? createPublicKey(b) : b).export({ type: 'spki', format: 'der' });
  return ea.equals(eb);
}
