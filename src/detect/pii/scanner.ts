// The combined scanner: runs the detectors for the enabled types over a text, drops candidates
// below the confidence floor or on the allow-list, and resolves overlapping candidates by priority
// (a private key beats the base64 inside it, a card beats the phone number made of the same
// digits). Every detector is linear in the text (no backtracking regular expressions over untrusted
// input; each start reads a bounded window), so a megabyte of hostile text scans in milliseconds.
import { emailDetector } from './email.js';
import { awsSecretDetector, genericSecretDetector } from './assignments.js';
import { ipDetector } from './ip.js';
import { jwtDetector } from './jwt.js';
import { numbersDetector } from './numbers.js';
import { pemDetector } from './pem.js';
import { phoneDetector } from './phone.js';
import { applyReplacements, resolveOverlaps, type ScanReport, type StreamReplacer } from './resolve.js';
import { PiiStream } from './stream.js';
import { tokenDetectors } from './tokens.js';
import { PII_TYPES, type Detector, type DetectorOptions, type PiiMatch, type PiiType } from './types.js';
import { wordsDetector } from './words.js';

export { PRIORITY, resolveOverlaps, type ScanReport, type StreamReplacer } from './resolve.js';

export interface PiiScanOptions {
  /** Types to look for (default: all). Detectors whose types are all off do not run. */
  types?: readonly PiiType[];
  /** Report private/reserved IP addresses too (default false). */
  ipPrivate?: boolean;
  /** Look for IPv6 addresses (default true). */
  ipv6?: boolean;
  /** Candidates below this confidence are dropped (default 0); a number or one per type. */
  minConfidence?: number | Partial<Record<PiiType, number>>;
  /** Returns true for a value that must not be reported (allow-lists). Gets the matched text. */
  allow?: (type: PiiType, value: string) => boolean;
}

const ALL_DETECTORS: Detector[] = [
  pemDetector,
  jwtDetector,
  ...tokenDetectors(),
  awsSecretDetector,
  genericSecretDetector,
  numbersDetector,
  wordsDetector,
  emailDetector,
  phoneDetector,
  ipDetector,
];

export class PiiScanner {
  readonly detectors: readonly Detector[];
  readonly detectorOptions: DetectorOptions;
  /** Characters of context before a start that any detector may read. */
  readonly lookbehind: number;
  private readonly enabled: ReadonlySet<PiiType>;
  private readonly floor: (t: PiiType) => number;
  private readonly allow: ((type: PiiType, value: string) => boolean) | undefined;

  constructor(opts: PiiScanOptions = {}) {
    this.enabled = new Set(opts.types ?? PII_TYPES);
    this.detectors = ALL_DETECTORS.filter((d) => d.types.some((t) => this.enabled.has(t)));
    this.detectorOptions = { ipPrivate: opts.ipPrivate ?? false, ipv6: opts.ipv6 ?? true };
    this.lookbehind = Math.max(0, ...this.detectors.map((d) => d.lookbehind));
    const mc = opts.minConfidence ?? 0;
    this.floor = typeof mc === 'number' ? () => mc : (t) => mc[t] ?? 0;
    this.allow = opts.allow;
  }

  /** Whether a candidate survives the type, confidence and allow-list filters. */
  keep(m: PiiMatch, text: string, offset = 0): boolean {
    if (!this.enabled.has(m.type) || m.confidence < this.floor(m.type)) return false;
    return !this.allow || !this.allow(m.type, text.slice(m.start - offset, m.end - offset));
  }

  /** Raw candidates of a whole text (before overlap resolution), filtered. */
  candidates(text: string): PiiMatch[] {
    const out: PiiMatch[] = [];
    for (const d of this.detectors) d.scan(text, 0, text.length, true, this.detectorOptions, out);
    return out.filter((m) => this.keep(m, text));
  }

  scan(text: string): ScanReport {
    return resolveOverlaps(this.candidates(text));
  }

  /**
   * Rewrites the matches for which `replace` returns a string (null keeps the text).
   * @example scanner.redact(text, (m) => `[REDACTED:${m.type}]`)
   */
  redact(text: string, replace: StreamReplacer): { text: string; matches: PiiMatch[] } {
    const { matches } = this.scan(text);
    return { text: applyReplacements(text, 0, 0, text.length, matches, replace), matches };
  }

  /** A scanner for one stream of text deltas (see stream.ts). */
  stream(replace: StreamReplacer, maxHoldBack?: number): PiiStream {
    return new PiiStream(this, replace, maxHoldBack);
  }
}

