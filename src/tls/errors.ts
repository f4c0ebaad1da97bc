// Errors of the certificate tooling (`rampart certs init` and the in-code PKI helpers).
import { defineError } from '../core/errors.js';

export const CertGenerationError = defineError('RAMPART_ERR_TLS_CERT_GENERATION', 'a certificate or key could not be generated');
export const CertOutputExistsError = defineError('RAMPART_ERR_TLS_OUTPUT_EXISTS', 'the certificate output folder already holds files that would be overwritten');
