// Store interfaces. Every stateful component talks to these, never to SQLite/PostgreSQL/Redis
// directly, so the server-backed implementations slot in without touching callers. Every
// implementation must pass the shared conformance suite (store.case.ts).

/** A stored API key. Only a hash of the secret is ever stored. */
export interface ApiKeyRecord {
  /** Public key id (the part of the key before the secret; safe to log). */
  id: string;
  principal: string;
  kind: 'user' | 'service';
  roles: string[];
  /** Hex SHA-256 of the secret part (API keys carry 256 bits of entropy, so no slow hash is needed). */
  secretHash: string;
  description: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface KeyStore {
  insertApiKey(rec: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false when no such key exists or it was already revoked. */
  revokeApiKey(id: string, at: number): Promise<boolean>;
}

/** One link of the audit hash chain as stored. `body` is the canonical JSON of the record. */
export interface AuditEntry {
  seq: number;
  time: number;
  prevHash: string;
  hash: string;
  body: string;
}

export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: number;
}

export interface AuditStore {
  /** Appends entries atomically (all or none), in order. */
  appendAudit(entries: AuditEntry[]): Promise<void>;
  lastAudit(): Promise<AuditEntry | null>;
  /** Entries with seq >= fromSeq, ascending, at most `limit`. */
  readAudit(fromSeq: number, limit: number): Promise<AuditEntry[]>;
  saveCheckpoint(cp: AuditCheckpoint): Promise<void>;
  listCheckpoints(): Promise<AuditCheckpoint[]>;
}

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take (0 when refused). */
  remaining: number;
  /** When refused: milliseconds until `cost` tokens are available. */
  retryAfterMs: number;
}

/** Atomic counters for quotas and detectors. */
export interface CounterStore {
  /** Token bucket: refill at `refillPerMs` up to `capacity`, then take `cost` if available. */
  takeTokens(key: string, capacity: number, refillPerMs: number, cost: number, now: number): Promise<TakeResult>;
  /** Adds `amount` to the fixed window of length `windowMs` containing `now`; returns the window's new total. */
  addToWindow(key: string, windowMs: number, amount: number, now: number): Promise<number>;
  /** Current total of the window containing `now`. */
  getWindow(key: string, windowMs: number, now: number): Promise<number>;
}

export interface Store {
  readonly kind: string;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly counters: CounterStore;
  close(): Promise<void>;
}
