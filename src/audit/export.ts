// Reading the audit chain out: an async iterator over entries (constant memory, page by page),
// the JSON Lines export format (docs/audit.md, "Export format") and the export-to-file operation,
// which writes to a temporary name and renames on success so a failed export leaves no file (a
// device or FIFO is written directly, a symbolic link followed: core/replace-file.ts).
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { withFileReplacing, writableOn } from '../core/replace-file.js';
import type { AuditEntry, AuditStore } from '../store/types.js';
import { AuditBadEntryError } from './errors.js';

/** Entries with seq >= fromSeq, ascending, read `pageSize` at a time. */
export async function* iterateAudit(store: AuditStore, fromSeq = 1, pageSize = 500): AsyncGenerator<AuditEntry> {
  let from = fromSeq;
  for (;;) {
    const page = await store.readAudit(from, pageSize);
    if (page.length === 0) return;
    yield* page;
    from = page[page.length - 1]!.seq + 1;
  }
}

/** The last `n` entries, oldest first. */
export async function lastAuditEntries(store: AuditStore, n: number): Promise<AuditEntry[]> {
  const head = await store.lastAudit();
  if (!head || n <= 0) return [];
  return store.readAudit(Math.max(1, head.seq - n + 1), n);
}

/** One export line (without the newline). `record` is the parsed canonical body. */
export function entryToJsonl(e: AuditEntry): string {
  let record: unknown;
  try {
    record = JSON.parse(e.body);
  } catch (err) {
    throw new AuditBadEntryError(`audit entry seq ${e.seq} has a body that is not JSON`, { cause: err, details: { seq: e.seq } });
  }
  // Field order is fixed here; `record` keeps the canonical (sorted) key order of the body.
  return JSON.stringify({ seq: e.seq, time: e.time, prevHash: e.prevHash, hash: e.hash, record });
}

export interface ExportFilter {
  /** Only entries written at or after this time (ms since the epoch). */
  since?: number;
  /** Only entries written before this time (ms since the epoch). */
  until?: number;
}

function keep(e: AuditEntry, f: ExportFilter): boolean {
  return (f.since === undefined || e.time >= f.since) && (f.until === undefined || e.time < f.until);
}

/** Streams matching entries as JSON Lines to `out`, honouring back-pressure. Returns the count. */
export async function writeAuditJsonl(store: AuditStore, out: Writable, filter: ExportFilter = {}): Promise<number> {
  let count = 0;
  for await (const e of iterateAudit(store)) {
    if (!keep(e, filter)) continue;
    if (!out.write(`${entryToJsonl(e)}\n`)) {
      if (out.errored) throw out.errored;
      await once(out, 'drain');
    }
    count++;
  }
  return count;
}

/**
 * Exports to `file` whole or not at all: a temporary file next to it (mode 0600), renamed when
 * complete. A device or FIFO (`-o /dev/stdout`) is written directly; a symbolic link is followed.
 */
export async function exportAuditJsonlFile(store: AuditStore, file: string, filter: ExportFilter = {}): Promise<number> {
  return withFileReplacing(file, { mode: 0o600 }, async ({ fh }) => {
    // The stream writes through the handle; withFileReplacing closes it and renames.
    const out = writableOn(fh);
    try {
      const count = await writeAuditJsonl(store, out, filter);
      out.end();
      // finished() also reports an error that happened before it was called.
      await finished(out);
      return count;
    } catch (e) {
      // Writes still buffered fail once destroyed; that is expected here, not a new error.
      out.on('error', () => undefined);
      out.destroy();
      throw e;
    }
  });
}

/**
 * Entries from `fromSeq` on, then every new entry as it is written, polling every `intervalMs`
 * until `signal` aborts (`rampart audit tail --follow`).
 */
export async function* followAudit(store: AuditStore, fromSeq: number, intervalMs: number, signal: AbortSignal): AsyncGenerator<AuditEntry> {
  let from = fromSeq;
  while (!signal.aborted) {
    const page = await store.readAudit(from, 500);
    if (page.length) {
      yield* page;
      from = page[page.length - 1]!.seq + 1;
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, intervalMs);
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
