// The audit log of the embedded SQLite store, written on a worker thread. The SQLite driver is
// synchronous: on the gateway's thread every batch insert, and every WAL checkpoint with its two
// fsyncs (several milliseconds each on some disks), would stop all requests while it runs. Here the
// gateway's thread hands the records over in batches, the common request record as an array of
// its values (record-tuple.ts) and any other record already serialised (canonical JSON); the
// thread serialises the arrays, then chains, hashes and stores everything with the same
// ChainedAuditLog as the inline writer, over its own connection to the same file.
//
// Records are kept on this side until the thread reports them persisted: if the thread dies, a new
// one is started and the unacknowledged records are sent again (at least once: a record stored just
// before the thread died, and not yet acknowledged, can appear twice in the chain).
import { Worker } from 'node:worker_threads';
import type { AuditLog, AuditRecord } from '../core/contracts.js';
import type { Logger } from '../core/logger.js';
import { auditBody, DEFAULT_FLUSH_INTERVAL_MS, type AuditWriterConfig } from './audit-log.js';
import { AuditClosedError, AuditFlushIncompleteError, AuditWriteFailedError } from './errors.js';
import { toTuple, type RecordTuple } from './record-tuple.js';

/** A record on its way to the thread: its canonical JSON, or the values of a common request record. */
export type Handed = string | RecordTuple;
export type ToAuditThread = { t: 'bodies'; bodies: Handed[] } | { t: 'flush' } | { t: 'close'; id: number };
export type FromAuditThread =
  | { t: 'ready' }
  | { t: 'failed'; error: { code: string; message: string } }
  | { t: 'persisted'; n: number }
  | { t: 'done'; id: number; error?: { code: string; message: string } }
  | { t: 'log'; line: string };

export interface AuditThreadOptions {
  /** The SQLite file (not ':memory:', which a second connection cannot see). */
  path: string;
  cfg: AuditWriterConfig;
  logger: Logger;
  /**
   * Longest a record waits before its batch is stored (default 200 ms): split between the wait for
   * the hand-over on this side and the writer's flush interval (tests set it).
   */
  flushIntervalMs?: number;
  /** Entry of the thread; tests use a script that fails on purpose. */
  workerUrl?: URL;
}

/**
 * The thread's entry: the compiled file next to this one; when this module runs from its TypeScript
 * source (the test runner), the compiled copy in dist/, which the test command builds first.
 */
const WORKER_URL = import.meta.url.endsWith('.ts') ? new URL('../../dist/audit/thread-worker.js', import.meta.url) : new URL('./thread-worker.js', import.meta.url);

const SEND_EVERY = 64;
/**
 * Longest a record waits on the request thread before it is handed over (the writer's flush interval
 * is shortened by as much, so a record is still stored within the interval). At low traffic each
 * hand-over is one message that wakes the writer thread: with one every 5 ms the writer spent about
 * 15 µs a request more at 1,000 req/s, and the timer's work was about 10 µs of the request thread's
 * in a profile (bench/README.md, "Sixth round").
 */
const MAX_SEND_AFTER_MS = 50;

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Starts the writer thread; resolves once it has opened the store (rejects with its error otherwise). */
export async function startAuditThread(opts: AuditThreadOptions): Promise<ThreadedAuditLog> {
  const log = new ThreadedAuditLog(opts);
  await log.started;
  return log;
}

export class ThreadedAuditLog implements AuditLog {
  /** Resolves when the first thread is ready. */
  readonly started: Promise<void>;
  /** Restarts of the thread after it died (tests, metrics). */
  restarts = 0;
  /** Messages that carried records to the thread (tests). */
  handOvers = 0;
  /** How long the first record of a hand-over waits for others (see MAX_SEND_AFTER_MS). */
  private readonly sendAfterMs: number;
  /** The writer's flush interval: the configured one less the wait on this side. */
  private readonly writerIntervalMs: number;
  private worker!: Worker;
  private readonly logger: Logger;
  /** Records not yet handed to the thread (sent in batches). */
  private batch: Handed[] = [];
  private scheduled = false;
  private sendTimer: NodeJS.Timeout | undefined = undefined;
  /** Records handed over and not yet reported persisted: unacked[uStart..]. */
  private unacked: Handed[] = [];
  private uStart = 0;
  private recorded = 0;
  private persisted = 0;
  /** `persisted` when the current thread started (its own counts start at 0). */
  private base = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  private closing: { id: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private closed = false;
  private alive = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: AuditThreadOptions) {
    this.logger = opts.logger.child({ component: 'audit' });
    const interval = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.sendAfterMs = Math.min(MAX_SEND_AFTER_MS, Math.floor(interval / 4));
    this.writerIntervalMs = Math.max(1, interval - this.sendAfterMs);
    this.started = this.spawn();
  }

  get pending(): number {
    return this.recorded - this.persisted;
  }

  record(rec: AuditRecord): void {
    if (this.closed) {
      this.logger.error({ code: AuditClosedError.code, id: rec?.id }, 'audit: record after close was not written');
      return;
    }
    this.batch.push(toTuple(rec) ?? auditBody(rec, this.opts.cfg.includeBodies, this.logger));
    this.recorded++;
    // Handed over in batches: at SEND_EVERY records, else sendAfterMs after the first (each
    // postMessage wakes the writer thread and costs about as much as serialising a record).
    if (this.batch.length >= SEND_EVERY) this.send();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.sendTimer = setTimeout(this.send, this.sendAfterMs);
      this.sendTimer.unref();
    }
  }

  flush(): Promise<void> {
    const target = this.recorded;
    if (this.persisted >= target) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    this.send();
    if (this.alive) this.worker.postMessage({ t: 'flush' } satisfies ToAuditThread);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.send();
    if (!this.alive) {
      // The thread is down and could not be restarted: what it did not acknowledge is not stored.
      if (this.restartTimer) clearTimeout(this.restartTimer);
      const unwritten = this.pending;
      if (unwritten === 0) return;
      this.logger.error({ code: AuditFlushIncompleteError.code, unwritten }, 'audit: closing with unwritten records');
      throw new AuditFlushIncompleteError(`audit: ${unwritten} record(s) could not be written before close`, { details: { unwritten } });
    }
    try {
      await new Promise<void>((resolve, reject) => {
        this.closing = { id: 1, resolve, reject };
        this.worker.postMessage({ t: 'close', id: 1 } satisfies ToAuditThread);
      });
    } finally {
      this.alive = false;
      await this.worker.terminate();
    }
  }

  /** Hands the records of this event-loop turn to the thread. */
  private readonly send = (): void => {
    if (this.scheduled) {
      clearTimeout(this.sendTimer);
      this.scheduled = false;
    }
    if (this.batch.length === 0) return;
    const bodies = this.batch;
    this.batch = [];
    for (const b of bodies) this.unacked.push(b);
    if (this.alive) {
      this.handOvers++;
      this.worker.postMessage({ t: 'bodies', bodies } satisfies ToAuditThread);
    }
  };

  private spawn(): Promise<void> {
    const w = new Worker(this.opts.workerUrl ?? WORKER_URL, {
      workerData: { path: this.opts.path, cfg: this.opts.cfg, logLevel: this.logger.level, flushIntervalMs: this.writerIntervalMs },
    });
    this.worker = w;
    this.base = this.persisted;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromAuditThread) => {
        switch (m.t) {
          case 'ready': {
            ready = true;
            this.alive = true;
            // Records not acknowledged by a previous thread go first, in their order.
            const again = this.unacked.slice(this.uStart);
            if (again.length > 0) w.postMessage({ t: 'bodies', bodies: again } satisfies ToAuditThread);
            if (this.waiters.length > 0) w.postMessage({ t: 'flush' } satisfies ToAuditThread);
            resolve();
            break;
          }
          case 'failed':
            reject(Object.assign(new AuditWriteFailedError(`audit thread could not start: ${m.error.message}`), { cause: m.error }));
            break;
          case 'persisted':
            this.acknowledge(this.base + m.n);
            break;
          case 'done': {
            const c = this.closing;
            if (c && c.id === m.id) {
              this.closing = null;
              if (m.error) c.reject(Object.assign(new AuditFlushIncompleteError(m.error.message), { cause: m.error }));
              else c.resolve();
            }
            break;
          }
          case 'log':
            this.relayLog(m.line);
            break;
        }
      });
      w.on('error', (e) => {
        this.logger.error({ err: e, code: AuditWriteFailedError.code }, 'audit thread failed');
        if (!ready) reject(new AuditWriteFailedError(`audit thread could not start: ${e.message}`, { cause: e }));
      });
      w.on('exit', (code) => {
        if (this.worker !== w) return;
        const wasAlive = this.alive;
        this.alive = false;
        if (!ready) return;
        if (this.closed && this.closing === null) return;
        if (this.closing) {
          this.closing.reject(new AuditFlushIncompleteError(`audit thread exited (${code}) while closing`));
          this.closing = null;
          return;
        }
        if (wasAlive) this.logger.error({ code: AuditWriteFailedError.code, exitCode: code, unacknowledged: this.unacked.length - this.uStart }, 'audit thread exited; starting a new one');
        this.scheduleRestart(0);
      });
    });
  }

  private scheduleRestart(attempt: number): void {
    const delay = Math.min(5000, attempt === 0 ? 0 : 100 * 2 ** attempt);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closed) return;
      this.restarts++;
      this.spawn().catch((e: unknown) => {
        this.logger.error({ err: e, code: AuditWriteFailedError.code, attempt: attempt + 1 }, 'audit thread restart failed');
        this.scheduleRestart(attempt + 1);
      });
    }, delay);
    this.restartTimer.unref();
  }

  private acknowledge(total: number): void {
    if (total <= this.persisted) return;
    const n = total - this.persisted;
    this.persisted = total;
    this.uStart += n;
    if (this.uStart >= this.unacked.length) {
      this.unacked = [];
      this.uStart = 0;
    } else if (this.uStart > 4096 && this.uStart * 2 > this.unacked.length) {
      this.unacked = this.unacked.slice(this.uStart);
      this.uStart = 0;
    }
    if (this.waiters.length === 0) return;
    const still = [];
    for (const w of this.waiters) {
      if (this.persisted >= w.target) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Writes a log line of the thread with this thread's logger (its level, destination and redaction). */
  private relayLog(line: string): void {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const level = LEVELS[Number(o.level)] ?? 'info';
      const msg = typeof o.msg === 'string' ? o.msg : '';
      delete o.level;
      delete o.msg;
      delete o.time;
      delete o.pid;
      delete o.hostname;
      delete o.name;
      delete o.component;
      this.logger[level](o, msg);
    } catch {
      this.logger.warn('audit thread wrote a log line that is not JSON');
    }
  }
}
