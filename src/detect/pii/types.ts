// Types shared by the PII and secret detectors. A detector is a pure function over text: it reports
// candidate matches (type, span, confidence) and never keeps or logs the matched value.

/** Every kind of finding, used as the reason code suffix (`pii.<type>`) and in guard options. */
export const PII_TYPES = [
  // secrets
  'private-key',
  'jwt',
  'openai-key',
  'anthropic-key',
  'aws-access-key-id',
  'aws-secret-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'stripe-key',
  'google-api-key',
  'huggingface-token',
  'npm-token',
  'twilio-key',
  'sendgrid-key',
  'azure-storage-key',
  'generic-secret',
  // financial
  'card',
  'iban',
  // national identifiers
  'us-ssn',
  'uk-nino',
  'es-dni',
  'fr-nir',
  'it-cf',
  'nl-bsn',
  'se-pnr',
  'in-aadhaar',
  'cn-rid',
  'br-cpf',
  // contact and network
  'email',
  'phone',
  'ip',
] as const;

export type PiiType = (typeof PII_TYPES)[number];

/** A candidate match in a text: half-open span [start, end) in UTF-16 code units. */
export interface PiiMatch {
  type: PiiType;
  start: number;
  end: number;
  /** 0..1: how sure the detector is (checksums and context raise it). */
  confidence: number;
  /** Set on private keys whose END line was not found within the cap (the span stops at the cap). */
  truncated?: boolean;
}

/** Options a detector reads while scanning (resolved by the scanner from its own options). */
export interface DetectorOptions {
  /** Report private, loopback, link-local, documentation and other non-public IP addresses. */
  ipPrivate: boolean;
  ipv6: boolean;
}

/**
 * A detector finds the candidates whose start lies in [from, end) of `text`. It may read up to
 * `lookbehind` characters before `from` (context keywords, boundaries). When `atEnd` is false the
 * text may continue after `end`: a start whose outcome depends on text not yet seen is undecided,
 * and the detector returns the first undecided start (and reports nothing at or after it);
 * otherwise it returns `end`. Whether a start is a match depends only on the text around it, never
 * on earlier matches, so scanning a stream piece by piece finds exactly what one scan of the whole
 * text finds (src/detect/pii/stream.ts relies on this).
 */
export interface Detector {
  readonly name: string;
  /** Types this detector can report (lets the scanner skip detectors whose types are all off). */
  readonly types: readonly PiiType[];
  readonly lookbehind: number;
  scan(text: string, from: number, end: number, atEnd: boolean, opts: DetectorOptions, out: PiiMatch[]): number;
}
