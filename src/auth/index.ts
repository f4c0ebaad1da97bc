// The gateway's authenticator: picks the credential a request carries (API key, JWT bearer token
// or mTLS client certificate) and turns it into a Principal, or throws a coded auth error.
//
// Precedence: a credential in the headers wins over the client certificate (the certificate then
// only authenticated the connection); with no header credential, an mTLS identity is used when
// auth.mtls is configured. `Authorization: Bearer rk_...` and `x-api-key: rk_...` are API keys; any
// other bearer token is treated as a JWT.
import type { GatewayConfig } from '../config/schema.js';
import type { AuthnInput, Authenticator } from '../core/contracts.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import type { ApiKeyRecord, KeyStore } from '../store/types.js';
import { ApiKeyCache, DEFAULT_KEY_CACHE_TTL_MS, looksLikeApiKey, verifyApiKey, verifyCachedApiKey } from './api-keys.js';
import { AuthInvalidError, AuthMissingError } from './errors.js';
import { JwtVerifier, type JwtOptions } from './jwt.js';
import { principalFromCertificate } from './mtls.js';

export { ApiKeyCache, DEFAULT_KEY_CACHE_TTL_MS, createApiKey, listApiKeys, revokeApiKey, parseApiKey, verifyApiKey, verifyCachedApiKey, type CreateApiKeyOptions, type CreatedApiKey, type PublicApiKey } from './api-keys.js';
export * from './errors.js';

export interface AuthenticatorOptions extends JwtOptions {
  /** Clock, for tests. */
  now?: () => number;
  /**
   * How long a verified API key's stored record is reused without asking the store again
   * (default 5,000 ms; 0 disables the cache). This is the bound on how long a key revoked by
   * another process (`rampart keys revoke`, another replica) keeps working here.
   */
  keyCacheTtlMs?: number;
}

/** Extracts the token of an `Authorization: Bearer <token>` header; null for other schemes. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * Builds the authenticator from the `auth` config section.
 *
 * @example
 * const authn = createAuthenticator(config.auth, store.keys, logger);
 * const principal = await authn.authenticate({ authorization: req.headers.authorization, sourceIp });
 */
export function createAuthenticator(
  auth: GatewayConfig['auth'],
  keys: KeyStore,
  logger: Logger,
  options: AuthenticatorOptions = {},
): Authenticator {
  const log = logger.child({ component: 'auth' });
  const jwt = new JwtVerifier(auth.jwt, options);
  const now = options.now ?? Date.now;
  const keyCache = new ApiKeyCache(options.keyCacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS);

  async function fromApiKey(key: string): Promise<Principal> {
    if (!auth.apiKeys.enabled) throw new AuthInvalidError('API keys are not accepted by this gateway');
    return ofKey(await verifyApiKey(keys, key, now(), keyCache));
  }

  // One Principal per stored key record (the key cache hands out the same record until it
  // expires), frozen because it is shared: no copy per request, and the policy engine may cache
  // its decisions by the object itself.
  const principals = new WeakMap<ApiKeyRecord, Principal>();

  function ofKey(rec: ApiKeyRecord): Principal {
    let p = principals.get(rec);
    if (p === undefined) {
      p = frozenPrincipal(principalOfKey(rec));
      principals.set(rec, p);
    }
    return p;
  }

  function principalOfKey(rec: ApiKeyRecord): Principal {
    return {
      id: rec.principal,
      kind: rec.kind,
      roles: [...rec.roles],
      groups: [],
      authMethod: 'api-key',
      credentialId: rec.id,
      attributes: {},
    };
  }

  /** The credential in the headers: the bearer token and the x-api-key value (refusing a bad pair). */
  function headerCredential(input: AuthnInput): { bearer: string | null; apiKey: string | null } {
    const hasAuthHeader = input.authorization !== undefined && input.authorization !== '';
    const bearer = bearerToken(input.authorization);
    if (hasAuthHeader && bearer === null) throw new AuthInvalidError('unsupported Authorization scheme (use Bearer)');
    const apiKey = input.apiKey !== undefined && input.apiKey !== '' ? input.apiKey : null;
    if (bearer !== null && apiKey !== null && bearer !== apiKey) {
      throw new AuthInvalidError('both Authorization and x-api-key are set, with different values');
    }
    return { bearer, apiKey };
  }

  return {
    authenticateSync(input: AuthnInput): Principal | undefined {
      if (!auth.apiKeys.enabled) return undefined;
      const { bearer, apiKey } = headerCredential(input);
      const token = bearer ?? apiKey;
      if (token === null || !looksLikeApiKey(token)) return undefined;
      const rec = verifyCachedApiKey(token, now(), keyCache);
      return rec === undefined ? undefined : ofKey(rec);
    },
    async authenticate(input: AuthnInput): Promise<Principal> {
      const { bearer, apiKey } = headerCredential(input);
      const token = bearer ?? apiKey;
      if (token !== null) {
        if (looksLikeApiKey(token)) return fromApiKey(token);
        if (apiKey !== null && bearer === null) throw new AuthInvalidError('malformed API key');
        if (!jwt.enabled) throw new AuthInvalidError('bearer tokens are not accepted by this gateway');
        try {
          return await jwt.verify(token);
        } catch (e) {
          const code = (e as { code?: string }).code;
          // An unreachable JWKS is an operational problem, not a bad client: make it visible.
          if (code === 'RAMPART_ERR_AUTH_JWKS_UNAVAILABLE') log.warn({ err: { code, message: (e as Error).message } }, 'JWKS unavailable');
          else log.debug({ err: { code } }, 'bearer token refused');
          throw e;
        }
      }
      if (auth.mtls && input.peerCertificate) {
        const p = principalFromCertificate(input.peerCertificate, auth.mtls);
        if (p) return p;
      }
      throw new AuthMissingError('no credentials: send an API key or a bearer token');
    },
    async close(): Promise<void> {
      await jwt.close();
    },
  };
}

/** Freezes a principal with its role and group lists and attributes (it is then safe to share). */
function frozenPrincipal(p: Principal): Principal {
  Object.freeze(p.roles);
  Object.freeze(p.groups);
  Object.freeze(p.attributes);
  return Object.freeze(p);
}
