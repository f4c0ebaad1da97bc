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
  /**
   * Optional synchronous forms for counters held in this process (the write-behind cache): they
   * answer like the async ones, or return `undefined` when the answer needs the store (a key not
   * seen yet), and the caller then uses the async method. Saves a promise chain per request.
   */
  takeTokensSync?(key: string, capacity: number, refillPerMs: number, cost: number, now: number): TakeResult | undefined;
  getWindowSync?(key: string, windowMs: number, now: number): number | undefined;
  addToWindowSync?(key: string, windowMs: number, amount: number, now: number): number | undefined;
  /** Gives `amount` tokens back to an in-memory bucket (capped at its capacity); false when the bucket is not held here. */
  refundTokensSync?(key: string, amount: number): boolean;
}

/** One persisted monitoring event (src/events). `body` is the event's JSON. */
export interface StoredEvent {
  id: string;
  time: number;
  type: string;
  principal: string | null;
  body: string;
}

export interface EventQuery {
  /** Inclusive lower bound on time (ms). */
  fromTime?: number;
  /** Exclusive upper bound on time (ms). */
  toTime?: number;
  type?: string;
  principal?: string;
  /** At most this many, oldest first. */
  limit: number;
}

export interface EventStore {
  /** Stores events; an id already stored is ignored (publishers may retry). */
  appendEvents(events: StoredEvent[]): Promise<void>;
  readEvents(q: EventQuery): Promise<StoredEvent[]>;
  /** Deletes events older than `before` (retention); returns how many. */
  pruneEvents(before: number): Promise<number>;
}

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

/** One alert as stored (src/monitor). `details` is a JSON object text. */
export interface AlertRecord {
  id: string;
  dedupKey: string;
  detector: string;
  severity: string;
  status: AlertStatus;
  title: string;
  details: string;
  firstSeen: number;
  lastSeen: number;
  /** How many detections were folded into this alert by its dedup key. */
  count: number;
  ackedBy: string | null;
  ackedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
}

/** One pending or finished delivery of an alert notification to a sink (the outbox). */
export interface AlertDelivery {
  /** Unique per (alert notification, sink); also the idempotency id sent to receivers. */
  id: string;
  alertId: string;
  sink: string;
  /** The exact payload to send (JSON text), fixed when enqueued so retries send the same bytes. */
  payload: string;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export interface AlertStore {
  /** Inserts a new alert; RAMPART_ERR_STORE_DUPLICATE_KEY when the id exists. */
  insertAlert(a: AlertRecord): Promise<void>;
  getAlert(id: string): Promise<AlertRecord | null>;
  /** The newest alert with this dedup key that is not resolved, if any. */
  findActiveAlert(dedupKey: string): Promise<AlertRecord | null>;
  /** Folds a repeat detection into an alert: count += 1, lastSeen, severity and details replaced. */
  touchAlert(id: string, lastSeen: number, severity: string, details: string): Promise<void>;
  /**
   * Moves an alert to `acknowledged` or `resolved`, recording who and when. Only forward moves
   * apply (open → acknowledged → resolved, open → resolved); returns the updated alert, or null
   * when the id is unknown or the move is not allowed from its current status.
   */
  transitionAlert(id: string, to: 'acknowledged' | 'resolved', by: string, at: number): Promise<AlertRecord | null>;
  /** Newest first. */
  listAlerts(q: { status?: AlertStatus; limit: number }): Promise<AlertRecord[]>;
  /** Adds deliveries to the outbox; ids already present are ignored. */
  enqueueDeliveries(d: AlertDelivery[]): Promise<void>;
  /** Undelivered deliveries of `sink` due at `now`, oldest first. */
  dueDeliveries(sink: string, now: number, limit: number): Promise<AlertDelivery[]>;
  markDelivered(id: string, at: number): Promise<void>;
  markDeliveryFailed(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  /** Deletes delivered deliveries older than `before`; returns how many. */
  pruneDeliveries(before: number): Promise<number>;
}

/** One versioned JSON blob of guard state (src/guards: extraction detector, penalties). */
export interface GuardStateEntry {
  /** The blob (JSON text, at most a few hundred KiB). */
  value: string;
  /** 1 on the first write, +1 on every write since; compare-and-set compares it. */
  version: number;
  /** Milliseconds since the epoch after which the entry counts as absent. */
  expiresAt: number;
}

/**
 * Small key/value state of guards, shared by every gateway replica on a server-backed store.
 * Entries expire (a TTL per write) and are written with compare-and-set on a version, so replicas
 * that update the same key concurrently notice it and merge instead of overwriting each other.
 */
export interface GuardStateStore {
  /** The live entry of `key` at `now`, or null (never written, deleted or expired). */
  getState(key: string, now: number): Promise<GuardStateEntry | null>;
  /**
   * Writes `value` when the live entry's version is `expectedVersion` (0: no live entry) and returns
   * the new version; returns null, writing nothing, when another writer got there first.
   */
  casState(key: string, expectedVersion: number, value: string, expiresAt: number, now: number): Promise<number | null>;
  /** Removes the entry; false when there was none. */
  deleteState(key: string): Promise<boolean>;
  /** Deletes entries expired at `now`; returns how many. */
  pruneState(now: number): Promise<number>;
}

/** Where an ingested training record sits: accepted (training may use it) or quarantined (for review). */
export type DatasetRecordStatus = 'accepted' | 'quarantined';

/** One training record received on `POST /v1/datasets/{name}/records` (src/gateway/datasets.ts). */
export interface DatasetRecord {
  /** Unique id (UUID), returned to the client. */
  id: string;
  dataset: string;
  /** Milliseconds since the epoch when it was received. */
  time: number;
  principal: string | null;
  requestId: string;
  /** The record's JSON text as received (one object). */
  body: string;
  /** JSON array of the ingest guard's findings (`[]` when clean). */
  findings: string;
  /** Who released it from quarantine and when (accepted records that were quarantined first). */
  releasedBy: string | null;
  releasedAt: number | null;
}

export interface DatasetRecordQuery {
  dataset: string;
  status: DatasetRecordStatus;
  /** Only records stored after this position (the `seq` of the last record of the previous page). */
  afterSeq?: number;
  /** At most this many, oldest first. */
  limit: number;
}

/**
 * Accepted and quarantined training records, kept in two separate tables so that whatever reads
 * training data from the accepted side never sees a quarantined record.
 */
export interface DatasetRecordStore {
  /** Stores a batch atomically (all or none); ids already present fail with RAMPART_ERR_STORE_DUPLICATE_KEY. */
  insertDatasetRecords(batch: { status: DatasetRecordStatus; record: DatasetRecord }[]): Promise<void>;
  /** Oldest first, each with its position `seq` (increasing per status table). */
  listDatasetRecords(q: DatasetRecordQuery): Promise<(DatasetRecord & { seq: number })[]>;
  /** Counts per status for one dataset. */
  countDatasetRecords(dataset: string): Promise<Record<DatasetRecordStatus, number>>;
  /**
   * Moves a quarantined record to the accepted table (after review), recording who and when, in
   * one transaction; returns the released record, or null when no quarantined record has this id.
   */
  releaseDatasetRecord(dataset: string, id: string, by: string, at: number): Promise<DatasetRecord | null>;
}

export interface Store {
  readonly kind: string;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  readonly counters: CounterStore;
  /** Monitoring events (optional: a backend without it runs the monitor without persistence). */
  readonly events?: EventStore;
  /** Alerts and their notification outbox (optional, like `events`). */
  readonly alerts?: AlertStore;
  /** Guard state (optional: without it, stateful guards keep their state in memory only). */
  readonly guardState?: GuardStateStore;
  /** Training records of the dataset ingestion route (optional, like `events`). */
  readonly datasets?: DatasetRecordStore;
  close(): Promise<void>;
}
