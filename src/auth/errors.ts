// Error codes of the authentication layer (API keys, JWT bearer tokens, mTLS identities).
// The gateway maps every one of them to 401, except JWKS_UNAVAILABLE (503).
import { defineError } from '../core/errors.js';

export const AuthMissingError = defineError('RAMPART_ERR_AUTH_MISSING', 'the request carries no credentials');
export const AuthInvalidError = defineError('RAMPART_ERR_AUTH_INVALID', 'the credentials are not valid');
export const AuthExpiredError = defineError('RAMPART_ERR_AUTH_EXPIRED', 'the credentials have expired');
export const AuthRevokedError = defineError('RAMPART_ERR_AUTH_REVOKED', 'the API key has been revoked');
export const JwksUnavailableError = defineError('RAMPART_ERR_AUTH_JWKS_UNAVAILABLE', 'the JWKS endpoint of a token issuer could not be reached');
export const ApiKeyNotFoundError = defineError('RAMPART_ERR_AUTH_KEY_NOT_FOUND', 'no API key with this id exists (or it is already revoked)');
