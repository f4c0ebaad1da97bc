// Identities from verified mTLS client certificates. The TLS layer has already checked the chain
// against server.tls.clientCa; here we only name the caller from the configured certificate field
// and give it the roles the config lists for that name.
import type { PeerCertificate } from 'node:tls';
import type { GatewayConfig } from '../config/schema.js';
import type { Principal } from '../core/types.js';
import { AuthInvalidError } from './errors.js';

export type MtlsConfig = NonNullable<GatewayConfig['auth']['mtls']>;

/**
 * Parses Node's `subjectaltname` string ("DNS:a.example, URI:spiffe://x, email:a@b"). Values that
 * contain separators are JSON-quoted by Node, e.g. `DNS:"a,b"`.
 */
export function parseSubjectAltName(san: string | undefined): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  if (!san) return out;
  let i = 0;
  while (i < san.length) {
    while (san[i] === ' ' || san[i] === ',') i++;
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (san[j] === '"') {
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string;
      } catch {
        value = san.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const comma = san.indexOf(', ', j);
      const end = comma < 0 ? san.length : comma;
      value = san.slice(j, end);
      j = end;
    }
    out.push({ type, value });
    i = j;
  }
  return out;
}

const SAN_TYPE: Record<string, string> = { 'san.uri': 'URI', 'san.dns': 'DNS', 'san.email': 'email' };

/** Names the caller from a verified peer certificate; null when the certificate is absent or empty. */
export function principalFromCertificate(cert: PeerCertificate | null | undefined, cfg: MtlsConfig): Principal | null {
  if (!cert || !cert.subject || Object.keys(cert).length === 0) return null;
  let id: string | undefined;
  if (cfg.principalFrom === 'subject.CN') {
    const cn = cert.subject.CN as string | string[] | undefined;
    id = Array.isArray(cn) ? cn[0] : cn;
  } else {
    const want = SAN_TYPE[cfg.principalFrom];
    id = parseSubjectAltName(cert.subjectaltname).find((e) => e.type === want)?.value;
  }
  if (!id) throw new AuthInvalidError(`the client certificate has no ${cfg.principalFrom}`);
  return {
    id,
    kind: cfg.kind,
    roles: [...(Object.hasOwn(cfg.roles, id) ? cfg.roles[id]! : [])],
    groups: [],
    authMethod: 'mtls',
    ...(cert.fingerprint256 ? { credentialId: cert.fingerprint256 } : {}),
    attributes: {},
  };
}
