// PostgreSQL implementation of the dataset ingestion records (migration 4), the same two tables as
// SQLite; inserts are one multi-row statement per table in one transaction, a release moves the
// row with DELETE ... RETURNING and INSERT in one transaction.
import type pg from 'pg';
import { StoreDuplicateKeyError, StoreUnavailableError } from './errors.js';
import { datasetRecordFromRow } from './sqlite-datasets.js';
import type { DatasetRecord, DatasetRecordQuery, DatasetRecordStatus, DatasetRecordStore } from './types.js';

const UNIQUE_VIOLATION = '23505';

async function tx<T>(pool: pg.Pool, what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  let c: pg.PoolClient;
  try {
    c = await pool.connect();
  } catch (e) {
    throw new StoreUnavailableError(`postgres: ${what} failed: ${(e as Error).message}`, { cause: e });
  }
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new StoreDuplicateKeyError(`postgres: ${what}: a record with this id already exists`, { cause: e });
    throw new StoreUnavailableError(`postgres: ${what} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    c.release();
  }
}

const TABLE: Record<DatasetRecordStatus, string> = { accepted: 'dataset_accepted', quarantined: 'dataset_quarantine' };

export class PgDatasetRecordStore implements DatasetRecordStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertDatasetRecords(batch: { status: DatasetRecordStatus; record: DatasetRecord }[]): Promise<void> {
    if (batch.length === 0) return;
    const acc = batch.filter((b) => b.status === 'accepted').map((b) => b.record);
    const qua = batch.filter((b) => b.status === 'quarantined').map((b) => b.record);
    const cols = (rs: DatasetRecord[]) => [rs.map((r) => r.id), rs.map((r) => r.dataset), rs.map((r) => r.time), rs.map((r) => r.principal), rs.map((r) => r.requestId), rs.map((r) => r.body), rs.map((r) => r.findings)];
    await tx(this.pool, 'insert dataset records', async (c) => {
      if (acc.length) {
        await c.query(
          `INSERT INTO dataset_accepted (id, dataset, time, principal, request_id, body, findings, released_by, released_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])`,
          [...cols(acc), acc.map((r) => r.releasedBy), acc.map((r) => r.releasedAt)],
        );
      }
      if (qua.length) {
        await c.query(
          `INSERT INTO dataset_quarantine (id, dataset, time, principal, request_id, body, findings)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])`,
          cols(qua),
        );
      }
    });
  }

  async listDatasetRecords(q: DatasetRecordQuery): Promise<(DatasetRecord & { seq: number })[]> {
    try {
      const { rows } = await this.pool.query(`SELECT * FROM ${TABLE[q.status]} WHERE dataset = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
        q.dataset,
        q.afterSeq ?? 0,
        Math.max(0, Math.floor(q.limit)),
      ]);
      return rows.map(datasetRecordFromRow);
    } catch (e) {
      throw new StoreUnavailableError(`postgres: list dataset records failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async countDatasetRecords(dataset: string): Promise<Record<DatasetRecordStatus, number>> {
    try {
      const { rows } = await this.pool.query<{ a: string; q: string }>(
        'SELECT (SELECT COUNT(*) FROM dataset_accepted WHERE dataset = $1) AS a, (SELECT COUNT(*) FROM dataset_quarantine WHERE dataset = $1) AS q',
        [dataset],
      );
      return { accepted: Number(rows[0]!.a), quarantined: Number(rows[0]!.q) };
    } catch (e) {
      throw new StoreUnavailableError(`postgres: count dataset records failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async releaseDatasetRecord(dataset: string, id: string, by: string, at: number): Promise<DatasetRecord | null> {
    return tx(this.pool, 'release dataset record', async (c) => {
      const { rows } = await c.query('DELETE FROM dataset_quarantine WHERE dataset = $1 AND id = $2 RETURNING *', [dataset, id]);
      if (!rows[0]) return null;
      const { seq: _seq, ...r } = datasetRecordFromRow(rows[0]);
      await c.query(
        'INSERT INTO dataset_accepted (id, dataset, time, principal, request_id, body, findings, released_by, released_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [r.id, r.dataset, r.time, r.principal, r.requestId, r.body, r.findings, by, at],
      );
      return { ...r, releasedBy: by, releasedAt: at };
    });
  }
}
