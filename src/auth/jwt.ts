// OIDC / JWT bearer tokens. One verifier per configured issuer, each with its own remote JWKS
// (jose caches the key set and refetches it, at most once per cooldown, when a token names an
// unknown `kid`, which is how issuer key rotation is picked up without a restart).
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { GatewayConfig } from '../config/schema.js';
import type { Principal } from '../core/types.js';
import { AuthExpiredError, AuthInvalidError, JwksUnavailableError } from './errors.js';

export type JwtProviderConfig = GatewayConfig['auth']['jwt'][number];

export interface JwtOptions {
  /** Overrides every provider's `jwksCooldown` (tests). */
  jwksCooldownMs?: number;
  /** Overrides every provider's `jwksCacheMaxAge` (tests). */
  jwksCacheMaxAgeMs?: number;
  /** Timeout of one JWKS fetch (default 5 s). */
  jwksTimeoutMs?: number;
}

interface Provider {
  cfg: JwtProviderConfig;
  jwks: JWTVerifyGetKey;
  agent: Agent | undefined;
}

/** Reads a dotted path (`realm_access.roles`) from a claims object. */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (path in payload) return payload[path];
  let cur: unknown = payload;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Roles from a claim value (a list or a space-separated string), mapped through `roleMap`. */
export function mapRoles(value: unknown, roleMap: Record<string, string[]>): string[] {
  let raw: string[] = [];
  if (typeof value === 'string') raw = value.split(/\s+/).filter(Boolean);
  else if (Array.isArray(value)) raw = value.filter((v): v is string => typeof v === 'string' && v.length > 0);
  const out = new Set<string>();
  for (const r of raw) for (const m of Object.hasOwn(roleMap, r) ? roleMap[r]! : [r]) out.add(m);
  return [...out];
}

export class JwtVerifier {
  private readonly byIssuer = new Map<string, Provider>();

  constructor(providers: readonly JwtProviderConfig[], opts: JwtOptions = {}) {
    for (const cfg of providers) {
      const agent = cfg.jwksCa ? new Agent({ connect: { ca: readFileSync(cfg.jwksCa, 'utf8') } }) : undefined;
      const jwks = createRemoteJWKSet(new URL(cfg.jwksUrl), {
        cooldownDuration: opts.jwksCooldownMs ?? cfg.jwksCooldown,
        cacheMaxAge: opts.jwksCacheMaxAgeMs ?? cfg.jwksCacheMaxAge,
        timeoutDuration: opts.jwksTimeoutMs ?? 5_000,
        ...(agent
          ? {
              [customFetch]: (url: string, init: RequestInit) =>
                undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>,
            }
          : {}),
      });
      this.byIssuer.set(cfg.issuer, { cfg, jwks, agent });
    }
  }

  get enabled(): boolean {
    return this.byIssuer.size > 0;
  }

  async verify(token: string): Promise<Principal> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new AuthInvalidError('malformed bearer token');
    }
    const p = iss === undefined ? undefined : this.byIssuer.get(iss);
    if (!p) throw new AuthInvalidError('token from an unknown issuer');
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      const res = await jwtVerify(token, p.jwks, {
        issuer: p.cfg.issuer,
        audience: p.cfg.audience,
        algorithms: p.cfg.algorithms,
        clockTolerance: Math.round(p.cfg.clockSkew / 1000),
        requiredClaims: ['exp'],
      });
      payload = res.payload;
      kid = res.protectedHeader.kid;
    } catch (e) {
      throw mapJoseError(e);
    }
    const sub = claimAt(payload, p.cfg.principalClaim);
    if ((typeof sub !== 'string' || sub.length === 0) && typeof sub !== 'number') {
      throw new AuthInvalidError(`token has no "${p.cfg.principalClaim}" claim`);
    }
    const credentialId = typeof payload.jti === 'string' ? payload.jti : kid;
    return {
      id: String(sub),
      kind: p.cfg.kind,
      roles: mapRoles(claimAt(payload, p.cfg.rolesClaim), p.cfg.roleMap),
      groups: [],
      authMethod: 'jwt',
      ...(credentialId ? { credentialId } : {}),
      attributes: { issuer: p.cfg.issuer },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.byIssuer.values()].map((p) => p.agent?.close()));
  }
}

function mapJoseError(e: unknown): Error {
  if (e instanceof joseErrors.JWTExpired) return new AuthExpiredError('the token has expired', { details: { reason: e.code } });
  if (e instanceof joseErrors.JWKSTimeout) return new JwksUnavailableError('timed out fetching the JWKS');
  if (e instanceof joseErrors.JOSEError) {
    // A failed or non-200 JWKS fetch also surfaces as a JOSEError; report it as unavailability,
    // not as a bad token, so operators can tell the two apart.
    if (e.code === 'ERR_JOSE_GENERIC' && /JWKS|response/i.test(e.message)) {
      return new JwksUnavailableError('could not fetch the JWKS', { cause: e });
    }
    return new AuthInvalidError('invalid bearer token', { details: { reason: e.code } });
  }
  // Network failures from fetch (connection refused, TLS errors).
  return new JwksUnavailableError('could not fetch the JWKS', { cause: e });
}
