// `rampart dataset records NAME` and `rampart dataset release NAME ID`: the records the gateway's
// ingestion route stored (src/gateway/datasets.ts), exported page by page from the store, and the
// release of a quarantined record after review (moved to the accepted table, with who and when).
import type { Writable } from 'node:stream';
import { UsageError } from '../core/errors.js';
import type { DatasetRecord, DatasetRecordStatus, DatasetRecordStore } from '../store/types.js';

export type RecordsFormat = 'jsonl' | 'json' | 'table';

export interface ExportOptions {
  dataset: string;
  status: DatasetRecordStatus;
  format: RecordsFormat;
  /** Most records written (default all). */
  limit?: number;
  /** Records per store query. Default 1000. */
  pageSize?: number;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The review view of a stored record: metadata, the record and the findings, parsed. */
export function recordView(r: DatasetRecord, status: DatasetRecordStatus): Record<string, unknown> {
  return {
    id: r.id,
    dataset: r.dataset,
    status,
    time: new Date(r.time).toISOString(),
    principal: r.principal,
    requestId: r.requestId,
    record: parseOr(r.body),
    findings: parseOr(r.findings),
    ...(r.releasedBy !== null ? { releasedBy: r.releasedBy, releasedAt: r.releasedAt === null ? null : new Date(r.releasedAt).toISOString() } : {}),
  };
}

async function write(out: Writable, s: string): Promise<void> {
  if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
}

/**
 * Writes the records of one dataset and status, oldest first. `jsonl`: one record per line exactly
 * as received (ready for training or `rampart scan --label`); `json`: an array of review views with
 * id, sender, findings; `table`: id, time, sender and the rules that fired. Returns how many.
 */
export async function exportRecords(store: DatasetRecordStore, o: ExportOptions, out: Writable): Promise<number> {
  if (!['jsonl', 'json', 'table'].includes(o.format)) throw new UsageError('--format must be jsonl, json or table');
  const limit = o.limit ?? Infinity;
  const page = Math.max(1, o.pageSize ?? 1000);
  let after = 0;
  let n = 0;
  if (o.format === 'json') await write(out, '[');
  if (o.format === 'table') await write(out, 'ID                                    TIME                      PRINCIPAL         RULES\n');
  while (n < limit) {
    const rows = await store.listDatasetRecords({ dataset: o.dataset, status: o.status, afterSeq: after, limit: Math.min(page, limit - n) });
    if (rows.length === 0) break;
    for (const r of rows) {
      if (o.format === 'jsonl') await write(out, `${r.body}\n`);
      else if (o.format === 'json') await write(out, `${n ? ',' : ''}\n  ${JSON.stringify(recordView(r, o.status))}`);
      else {
        const f = parseOr(r.findings);
        const rules = Array.isArray(f) ? [...new Set(f.map((x) => String((x as { ruleId?: unknown }).ruleId)))].join(',') : '';
        await write(out, `${r.id.padEnd(38)}${new Date(r.time).toISOString().padEnd(26)}${(r.principal ?? '-').slice(0, 16).padEnd(18)}${rules || '-'}\n`);
      }
      n++;
    }
    after = rows[rows.length - 1]!.seq;
  }
  if (o.format === 'json') await write(out, n ? '\n]\n' : ']\n');
  return n;
}
