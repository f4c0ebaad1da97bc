// Types shared by every layer. This module imports nothing from its siblings.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** 0 for info up to 4 for critical. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** Where in an artifact a finding points. All fields optional; fill what is known. */
export interface FindingLocation {
  /** Byte offset inside the innermost file (for binary formats). */
  offset?: number;
  /** 1-based line in a text file (header line counted). */
  line?: number;
  /** 0-based data row index (datasets). */
  row?: number;
  /** A record, key or JSON pointer inside the file (e.g. a layer name or a metadata key). */
  record?: string;
}

/** One result of a scan (model file, dataset, ...). Produced by checks, rendered by reporters. */
export interface Finding {
  /** Stable rule id, documented in docs/rules.md, e.g. `RMP-PICKLE-001`. */
  ruleId: string;
  severity: Severity;
  /** Display path; members of archives are joined with `!` (e.g. `model.zip!archive/data.pkl`). */
  file: string;
  location?: FindingLocation;
  message: string;
  remediation?: string;
  /** Extra, non-secret facts (the imported global, the opcode, ...). */
  details?: Record<string, unknown>;
}

/** How a caller proved who it is. */
export type AuthMethod = 'api-key' | 'jwt' | 'mtls';

/** An authenticated caller of the gateway. */
export interface Principal {
  /** Stable identifier; the Cedar principal id and the audit/quota key. */
  id: string;
  kind: 'user' | 'service';
  roles: string[];
  groups: string[];
  authMethod: AuthMethod;
  /** Id of the API key, JWT `jti`/`kid`, or the certificate fingerprint that proved it. */
  credentialId?: string;
  /** Extra attributes usable in policies (e.g. JWT claims mapped in config). Never secrets. */
  attributes: Record<string, string | number | boolean>;
}

/** The actions that policies speak about (`ingest`: send training records to a dataset, resource Rampart::Dataset). */
export const ACTIONS = ['invoke', 'list', 'admin', 'ingest'] as const;
export type Action = (typeof ACTIONS)[number];

/** Token usage reported by an upstream (OpenAI `usage`). */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}
