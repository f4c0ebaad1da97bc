// The audit writer: queues one record per request without blocking it, and appends the records
// to the store's hash chain in order, in batches. A batch is written when `flushEvery` records
// are queued, when the flush timer fires (every `flushIntervalMs`, 200 ms by default) and on
// flush()/close(). A failed write is logged with a coded error and retried with backoff; the
// records stay queued meanwhile, so nothing is dropped while the process lives. What a crash
// loses is exactly the queue that had not been written yet (at most one flush interval, or
// `flushEvery` records, of traffic; see docs/audit.md).
import type { GatewayConfig } from '../config/schema.js';
import type { AuditLog, AuditRecord } from '../core/contracts.js';
import type { Logger } from '../core/logger.js';
import type { AuditEntry, AuditStore } from '../store/types.js';
import { auditRecordJson, canonicalJson } from './canonical-json.js';
import { nextEntry } from './chain.js';
import { AuditClosedError, AuditFlushIncompleteError, AuditWriteFailedError } from './errors.js';

/** What the writer needs of `audit:` (`thread` is the gateway's choice of where the writer runs). */
export type AuditWriterConfig = Omit<GatewayConfig['audit'], 'thread'>;

export interface AuditLogOptions {
  /** Longest time a record waits in the queue before its batch is written. */
  flushIntervalMs?: number;
  /** First and longest pause between retries of a failed write. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Largest batch written at once when a backlog has built up (at least flushEvery). */
  maxBatch?: number;
  /** How long close() waits without any batch being written before it gives up and reports what it could not write. */
  closeTimeoutMs?: number;
  /** Clock for entry times (tests). */
  now?: () => number;
  /** Told the number of records persisted so far after each batch is stored (the audit thread's acknowledgements). */
  onPersisted?: (persisted: number) => void;
}

interface Head {
  seq: number;
  hash: string;
}

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** How long a queued record waits at most before its batch is written, unless the caller sets flushIntervalMs. */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;

const DEFAULTS = { flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS, retryMinMs: 50, retryMaxMs: 5000, closeTimeoutMs: 10_000, maxBatch: 2048 };

/**
 * What is chained for a record: its canonical JSON, without the body fields unless `includeBodies`.
 * Never throws: a record that cannot be serialised is chained as its id and time with
 * `unserialisable: true`, so the fact that a request happened is never lost.
 */
export function auditBody(rec: AuditRecord, includeBodies: boolean, logger?: Logger): string {
  try {
    return auditRecordJson(rec, !includeBodies);
  } catch (e) {
    logger?.error({ err: e, id: rec?.id }, 'audit: record not serialisable; writing its id only');
    return canonicalJson({ id: String(rec?.id ?? ''), time: String(rec?.time ?? ''), unserialisable: true });
  }
}

export class ChainedAuditLog implements AuditLog {
  private readonly opts: Required<Omit<AuditLogOptions, 'now' | 'onPersisted'>> & { now: () => number; onPersisted?: (persisted: number) => void };
  /** Canonical bodies waiting to be written: queue[qStart..] (a moving start avoids O(n) shifts). */
  private queue: string[] = [];
  private qStart = 0;
  /** undefined until read from the store (and again after a conflict with another writer). */
  private head: Head | null | undefined = undefined;
  private pendingCheckpoints: Head[] = [];
  /** The last batch whose write failed in a way that may still have committed it. */
  private uncertain: AuditEntry[] | null = null;
  private lastCheckpointSeq = 0;
  private recorded = 0;
  private persisted = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private giveUp = false;
  private wake: (() => void) | null = null;
  private failures = 0;
  private checkpointChain: Promise<void> = Promise.resolve();
  /** Queue length at which the next "piling up" warning is logged (10k, 100k, ...). */
  private nextBacklogWarning = 10_000;

  constructor(
    private readonly store: AuditStore,
    private readonly cfg: AuditWriterConfig,
    private readonly logger: Logger,
    options: AuditLogOptions = {},
  ) {
    this.opts = {
      flushIntervalMs: options.flushIntervalMs ?? DEFAULTS.flushIntervalMs,
      retryMinMs: options.retryMinMs ?? DEFAULTS.retryMinMs,
      retryMaxMs: options.retryMaxMs ?? DEFAULTS.retryMaxMs,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
      maxBatch: Math.max(cfg.flushEvery, options.maxBatch ?? DEFAULTS.maxBatch),
      now: options.now ?? Date.now,
      onPersisted: options.onPersisted,
    };
  }

  /** Records queued and not yet written. */
  get pending(): number {
    return this.queue.length - this.qStart;
  }

  record(rec: AuditRecord): void {
    if (this.closed) {
      this.logger.error({ code: AuditClosedError.code, id: rec?.id }, 'audit: record after close was not written');
      return;
    }
    // Serialised now, so later changes to the caller's object cannot change what is chained.
    this.enqueue(auditBody(rec, this.cfg.includeBodies, this.logger));
  }

  /** Queues a record already serialised by `auditBody` (in another thread). */
  recordBody(body: string): void {
    if (this.closed) {
      this.logger.error({ code: AuditClosedError.code }, 'audit: record after close was not written');
      return;
    }
    this.enqueue(body);
  }

  private enqueue(body: string): void {
    this.queue.push(body);
    this.recorded++;
    if (this.pending >= this.nextBacklogWarning) {
      // The store has not kept up (or is down): records are held in memory, and say so.
      this.logger.warn({ code: AuditWriteFailedError.code, queued: this.pending }, 'audit: records are piling up in memory');
      this.nextBacklogWarning *= 10;
    }
    if (this.pending >= this.cfg.flushEvery) {
      this.kick();
    } else if (!this.timer && !this.running) {
      this.timer = setTimeout(() => this.kick(), this.opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    const target = this.recorded;
    if (this.persisted >= target) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ target, resolve, reject }));
    this.kick();
    this.wake?.();
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.flush(),
        new Promise<never>((_, reject) => {
          // Gives up only when nothing could be written for closeTimeoutMs: a long backlog that
          // is draining is waited for, a store that stays down is not.
          const arm = () => {
            deadline = setTimeout(() => {
              if (this.persisted !== seen) {
                seen = this.persisted;
                arm();
                return;
              }
              this.giveUp = true;
              this.wake?.();
              reject(
                new AuditFlushIncompleteError(`audit: ${this.pending} record(s) could not be written before close`, {
                  details: { unwritten: this.pending },
                }),
              );
            }, this.opts.closeTimeoutMs);
          };
          let seen = this.persisted;
          arm();
        }),
      ]);
    } catch (e) {
      this.logger.error({ code: AuditFlushIncompleteError.code, unwritten: this.pending }, 'audit: closing with unwritten records');
      throw e;
    } finally {
      clearTimeout(deadline);
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
    // Anchor the final head so a later truncation of the tail is detectable.
    if (this.head && this.head.seq > this.lastCheckpointSeq) this.pendingCheckpoints.push(this.head);
    await this.saveCheckpoints();
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    let conflicts = 0;
    try {
      while (this.pending > 0 && !this.giveUp) {
        let n = 0;
        try {
          if (this.head === undefined) {
            const last = await this.store.lastAudit();
            this.head = last ? { seq: last.seq, hash: last.hash } : null;
            const u = this.uncertain;
            if (u && last && last.seq >= u[u.length - 1]!.seq) {
              // A write reported as failed may have committed (connection lost after COMMIT).
              // Its last entry is then stored with our exact hash: count it written, once.
              const [stored] = await this.store.readAudit(u[u.length - 1]!.seq, 1);
              this.uncertain = null;
              if (stored && stored.hash === u[u.length - 1]!.hash) {
                this.accept(u.length, u);
                if (this.pendingCheckpoints.length) await this.saveCheckpoints();
                continue;
              }
            }
            this.uncertain = null;
          }
          // Batches grow up to maxBatch while there is a backlog (after an outage, on close).
          n = Math.min(this.pending, this.opts.maxBatch);
          const time = Math.floor(this.opts.now());
          const entries: AuditEntry[] = [];
          let prev = this.head;
          for (let i = 0; i < n; i++) {
            const e = nextEntry(prev, time, this.queue[this.qStart + i]!);
            entries.push(e);
            prev = e;
          }
          try {
            await this.store.appendAudit(entries);
          } catch (e) {
            if ((e as { code?: string }).code !== 'RAMPART_ERR_STORE_AUDIT_CONFLICT') this.uncertain = entries;
            throw e;
          }
          conflicts = 0;
          this.accept(n, entries);
          if (this.pendingCheckpoints.length) await this.saveCheckpoints();
        } catch (e) {
          if ((e as { code?: string }).code === 'RAMPART_ERR_STORE_AUDIT_CONFLICT' && conflicts < 100) {
            // Another writer (a second replica) appended first: re-read the head and rebuild.
            conflicts++;
            this.head = undefined;
            if (conflicts > 3) await this.sleep(Math.random() * 20);
            continue;
          }
          this.failures++;
          const delay = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(this.failures - 1, 16));
          this.logger.error(
            { err: e, code: AuditWriteFailedError.code, records: n, queued: this.pending, attempt: this.failures, retryInMs: delay },
            'audit: write failed; retrying',
          );
          // The head may or may not have moved (a write that failed after commit): re-read it.
          this.head = undefined;
          await this.sleep(delay);
        }
      }
    } finally {
      this.running = false;
    }
    // A record may have arrived while the last batch was being written, without a timer.
    if (this.pending > 0 && !this.giveUp && !this.timer) {
      this.timer = setTimeout(() => this.kick(), this.opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Bookkeeping after the first `n` queued records were stored as `entries`. */
  private accept(n: number, entries: AuditEntry[]): void {
    const last = entries[entries.length - 1]!;
    // Only record() pushes to the queue, at its end: the first n are the ones just written.
    this.qStart += n;
    if (this.qStart === this.queue.length) {
      this.queue = [];
      this.qStart = 0;
    } else if (this.qStart > 4096 && this.qStart * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qStart);
      this.qStart = 0;
    }
    if (this.pending < 1000) this.nextBacklogWarning = 10_000;
    this.head = { seq: last.seq, hash: last.hash };
    this.persisted += n;
    this.opts.onPersisted?.(this.persisted);
    if (this.failures > 0) this.logger.info({ afterFailures: this.failures }, 'audit: writes resumed');
    this.failures = 0;
    for (const e of entries) if (e.seq % this.cfg.checkpointEvery === 0) this.pendingCheckpoints.push(e);
    this.settleWaiters();
  }

  /** Serialised: the writer and close() may both ask, and each checkpoint is saved once. */
  private saveCheckpoints(): Promise<void> {
    this.checkpointChain = this.checkpointChain.then(() => this.drainCheckpoints());
    return this.checkpointChain;
  }

  private async drainCheckpoints(): Promise<void> {
    while (this.pendingCheckpoints.length) {
      const e = this.pendingCheckpoints[0]!;
      try {
        await this.store.saveCheckpoint({ seq: e.seq, hash: e.hash, time: this.opts.now() });
      } catch (err) {
        // Kept pending and retried after the next batch; records themselves are not at risk.
        this.logger.error({ err, code: AuditWriteFailedError.code, seq: e.seq }, 'audit: checkpoint write failed');
        return;
      }
      this.pendingCheckpoints.shift();
      this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, e.seq);
      // Logged so that the log stream, shipped elsewhere, anchors the chain too (verify --anchor).
      this.logger.info({ auditCheckpoint: { seq: e.seq, hash: e.hash } }, 'audit: checkpoint');
    }
  }

  private settleWaiters(): void {
    if (!this.waiters.length) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.persisted >= w.target) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

/**
 * Creates the audit log that the gateway writes one record per request to.
 *
 * @example
 * const audit = createAuditLog(store.audit, config.audit, logger);
 * audit.record(rec);          // never blocks, never throws
 * await audit.close();        // on shutdown: writes what is queued and checkpoints the head
 */
export function createAuditLog(store: AuditStore, cfg: AuditWriterConfig, logger: Logger, options: AuditLogOptions = {}): AuditLog {
  return new ChainedAuditLog(store, cfg, logger.child({ component: 'audit' }), options);
}
