// SQLite implementation of the dataset ingestion records (migration 4): accepted and quarantined
// records in two tables; releasing a record moves it between them in one transaction.
import type Database from 'better-sqlite3';
import { StoreDuplicateKeyError, StoreUnavailableError } from './errors.js';
import type { DatasetRecord, DatasetRecordQuery, DatasetRecordStatus, DatasetRecordStore } from './types.js';

type Db = Database.Database;

interface Row {
  seq: number;
  id: string;
  dataset: string;
  time: number;
  principal: string | null;
  request_id: string;
  body: string;
  findings: string;
  released_by?: string | null;
  released_at?: number | null;
}

export function datasetRecordFromRow(r: Row): DatasetRecord & { seq: number } {
  return {
    seq: Number(r.seq),
    id: r.id,
    dataset: r.dataset,
    time: Number(r.time),
    principal: r.principal,
    requestId: r.request_id,
    body: r.body,
    findings: r.findings,
    releasedBy: r.released_by ?? null,
    releasedAt: r.released_at === null || r.released_at === undefined ? null : Number(r.released_at),
  };
}

function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('RAMPART_ERR_')) throw e;
    if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new StoreDuplicateKeyError(`sqlite: ${what}: a record with this id already exists`, { cause: e });
    throw new StoreUnavailableError(`sqlite: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

export const DATASET_TABLE: Record<DatasetRecordStatus, string> = { accepted: 'dataset_accepted', quarantined: 'dataset_quarantine' };

export class SqliteDatasetRecordStore implements DatasetRecordStore {
  private readonly insertAccepted;
  private readonly insertQuarantined;
  private readonly insertTx;
  private readonly releaseTx;

  constructor(private readonly db: Db) {
    this.insertAccepted = db.prepare(
      'INSERT INTO dataset_accepted (id, dataset, time, principal, request_id, body, findings, released_by, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertQuarantined = db.prepare('INSERT INTO dataset_quarantine (id, dataset, time, principal, request_id, body, findings) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.insertTx = db.transaction((batch: { status: DatasetRecordStatus; record: DatasetRecord }[]) => {
      for (const { status, record: r } of batch) {
        if (status === 'accepted') this.insertAccepted.run(r.id, r.dataset, r.time, r.principal, r.requestId, r.body, r.findings, r.releasedBy, r.releasedAt);
        else this.insertQuarantined.run(r.id, r.dataset, r.time, r.principal, r.requestId, r.body, r.findings);
      }
    });
    const get = db.prepare('SELECT * FROM dataset_quarantine WHERE dataset = ? AND id = ?');
    const del = db.prepare('DELETE FROM dataset_quarantine WHERE seq = ?');
    this.releaseTx = db.transaction((dataset: string, id: string, by: string, at: number): DatasetRecord | null => {
      const row = get.get(dataset, id) as Row | undefined;
      if (!row) return null;
      del.run(row.seq);
      const r = { ...datasetRecordFromRow(row), releasedBy: by, releasedAt: at };
      this.insertAccepted.run(r.id, r.dataset, r.time, r.principal, r.requestId, r.body, r.findings, by, at);
      const { seq: _seq, ...out } = r;
      return out;
    });
  }

  async insertDatasetRecords(batch: { status: DatasetRecordStatus; record: DatasetRecord }[]): Promise<void> {
    if (batch.length === 0) return;
    guard('insert dataset records', () => this.insertTx.immediate(batch));
  }

  async listDatasetRecords(q: DatasetRecordQuery): Promise<(DatasetRecord & { seq: number })[]> {
    const table = DATASET_TABLE[q.status];
    const rows = guard('list dataset records', () =>
      this.db.prepare(`SELECT * FROM ${table} WHERE dataset = ? AND seq > ? ORDER BY seq LIMIT ?`).all(q.dataset, q.afterSeq ?? 0, Math.max(0, Math.floor(q.limit))),
    ) as Row[];
    return rows.map(datasetRecordFromRow);
  }

  async countDatasetRecords(dataset: string): Promise<Record<DatasetRecordStatus, number>> {
    return guard('count dataset records', () => {
      const a = this.db.prepare('SELECT COUNT(*) AS n FROM dataset_accepted WHERE dataset = ?').get(dataset) as { n: number };
      const q = this.db.prepare('SELECT COUNT(*) AS n FROM dataset_quarantine WHERE dataset = ?').get(dataset) as { n: number };
      return { accepted: Number(a.n), quarantined: Number(q.n) };
    });
  }

  async releaseDatasetRecord(dataset: string, id: string, by: string, at: number): Promise<DatasetRecord | null> {
    return guard('release dataset record', () => this.releaseTx.immediate(dataset, id, by, at));
  }
}
