// The dataset ingestion route `POST /v1/datasets/{name}/records` (docs/datasets.md, "Ingestion
// route"). The handler authenticates the caller, finds the dataset, parses the body here, runs
// Cedar `ingest` on Rampart::Dataset::"{name}" (context.request.records = batch size), and then
// calls `ingest`: every record goes through the dataset's ingest guard (schema, type, range,
// unseen label, robust and multivariate outliers against its trusted baseline; repeats and class
// balance against the records accepted before), accepted and quarantined records are stored in
// separate tables in one transaction, quarantined and flagged ones (and a sample of accepted
// ones) are published as `data.record` events, and the answer says per record what happened.
import { randomUUID } from 'node:crypto';
import { severityRank, type Severity } from '../core/types.js';
import type { Logger } from '../core/logger.js';
import { readBaseline } from '../dataset/baseline.js';
import { DatasetBatchTooLargeError, DatasetConfigInvalidError, DatasetNotFoundError, DatasetRecordInvalidError } from '../dataset/errors.js';
import type { DatasetIngestConfig } from '../dataset/ingest-config.js';
import { createIngestGuard, type IngestGuard, type RecordFinding } from '../dataset/ingest-guard.js';
import { makeEvent, type RampartEvent } from '../events/schema.js';
import type { DatasetRecord, DatasetRecordStatus, DatasetRecordStore } from '../store/types.js';

export const DATASETS_PREFIX = '/v1/datasets/';

/** Who sent the batch, for the stored records and the events. */
export interface IngestMeta {
  principal: string;
  requestId: string;
  sourceIp: string;
}

export interface IngestResultItem {
  index: number;
  id: string;
  status: DatasetRecordStatus;
  findings: RecordFinding[];
}

export interface IngestResult {
  object: 'list';
  dataset: string;
  accepted: number;
  quarantined: number;
  data: IngestResultItem[];
}

interface Served {
  config: DatasetIngestConfig;
  guard: IngestGuard;
  /** Numeric feature columns of the baseline (event features for sampled accepted records). */
  numeric: string[];
}

export interface DatasetIngest {
  /** The dataset's config, or a RAMPART_ERR_DATASET_NOT_FOUND error. */
  lookup(name: string): DatasetIngestConfig;
  /** Splits a body into records (JSON object, array of objects, or JSON Lines); coded 400/413 errors. */
  parse(name: string, raw: Buffer, contentType: string | undefined): Record<string, unknown>[];
  /** Checks, stores and publishes a parsed batch; resolves with the per-record answer. */
  ingest(name: string, records: Record<string, unknown>[], meta: IngestMeta): Promise<IngestResult>;
}

export interface DatasetIngestOptions {
  configs: readonly DatasetIngestConfig[];
  store: DatasetRecordStore | undefined;
  /** Publishes events (the monitor's bus); absent when monitoring is off. */
  publish?: (...events: RampartEvent[]) => unknown;
  logger: Logger;
  /** Random source for sampling accepted records (tests). */
  random?: () => number;
}

/** Reads and checks every dataset's baseline and label; throws coded errors (start-up stops). */
export function createDatasetIngest(o: DatasetIngestOptions): DatasetIngest {
  const served = new Map<string, Served>();
  if (o.configs.length > 0 && !o.store) throw new DatasetConfigInvalidError('datasets are configured but the store keeps no dataset records');
  for (const c of o.configs) {
    const b = readBaseline(c.baseline);
    if (c.label !== undefined && c.label !== b.label) {
      throw new DatasetConfigInvalidError(`dataset "${c.name}": label "${c.label}" is not the label column of baseline ${c.baseline} (${b.label === undefined ? 'it has none' : `"${b.label}"`})`);
    }
    if (Object.prototype.hasOwnProperty.call(c.attributes, 'name')) throw new DatasetConfigInvalidError(`dataset "${c.name}": attribute "name" is reserved (set by Rampart)`);
    const guard = createIngestGuard(b, c.thresholds);
    const numeric = b.columns.filter((col) => col.kind === 'numeric' && col.profile && col.name !== b.label).map((col) => col.name);
    served.set(c.name, { config: c, guard, numeric });
  }
  const random = o.random ?? Math.random;
  const store = o.store;

  const get = (name: string): Served => {
    const s = served.get(name);
    if (!s) throw new DatasetNotFoundError(`dataset ${name.length > 128 ? `${name.slice(0, 128)}...` : name} is not configured for ingestion`);
    return s;
  };

  return {
    lookup: (name) => get(name).config,

    parse(name, raw, contentType) {
      const max = get(name).config.maxRecords;
      return parseRecords(raw, contentType, max);
    },

    async ingest(name, records, meta) {
      const s = get(name);
      const now = Date.now();
      const items: IngestResultItem[] = [];
      const rows: { status: DatasetRecordStatus; record: DatasetRecord }[] = [];
      const events: RampartEvent[] = [];
      let accepted = 0;
      for (let i = 0; i < records.length; i++) {
        const rec = records[i]!;
        const v = s.guard.check(rec);
        const status: DatasetRecordStatus = v.accepted ? 'accepted' : 'quarantined';
        const id = randomUUID();
        items.push({ index: i, id, status, findings: v.findings });
        if (v.accepted) accepted++;
        if (status === 'quarantined' || s.config.storage.accepted === 'store') {
          rows.push({
            status,
            record: { id, dataset: name, time: now, principal: meta.principal, requestId: meta.requestId, body: JSON.stringify(rec), findings: JSON.stringify(v.findings), releasedBy: null, releasedAt: null },
          });
        }
        const base = { type: 'data.record' as const, source: `dataset:${name}`, id: `data:${id}`, time: now, principal: meta.principal, sourceIp: meta.sourceIp };
        // Accepted records with findings below quarantineAt (a repeat, a class-balance drift) are published too.
        if (status === 'quarantined' || v.findings.length > 0) {
          // No values: events never carry record contents, only which checks fired on which fields.
          events.push(
            makeEvent({
              ...base,
              severity: worst(v.findings),
              data: { dataset: name, recordId: id, requestId: meta.requestId, status, rules: [...new Set(v.findings.map((f) => f.ruleId))], ...eventColumns(v.findings) },
            }),
          );
        } else if (s.config.events.sampleAccepted > 0 && random() < s.config.events.sampleAccepted) {
          const features: Record<string, number> = {};
          for (const k of s.numeric) {
            const x = rec[k];
            if (typeof x === 'number' && Number.isFinite(x)) features[k] = x;
          }
          events.push(makeEvent({ ...base, data: { dataset: name, recordId: id, requestId: meta.requestId, status, features } }));
        }
      }
      // Stored before answering: a client told "accepted" can rely on the record being kept.
      if (rows.length) await store!.insertDatasetRecords(rows);
      if (events.length && o.publish) {
        try {
          o.publish(...events);
        } catch (e) {
          o.logger.warn({ err: e }, 'could not publish dataset events');
        }
      }
      return { object: 'list', dataset: name, accepted, quarantined: records.length - accepted, data: items };
    },
  };
}

/** Most field names a `data.record` event lists, and their longest length (the client picks them). */
export const MAX_EVENT_COLUMNS = 32;
export const MAX_EVENT_COLUMN_CHARS = 128;

/**
 * The field names of a quarantined record's findings, for its event. Unknown fields are named by
 * the client, so the list is capped (events reach alert sinks): at most MAX_EVENT_COLUMNS names,
 * each cut to MAX_EVENT_COLUMN_CHARS characters, and `columnsDropped` says how many were left out.
 */
export function eventColumns(findings: readonly RecordFinding[]): { columns: string[]; columnsDropped?: number } {
  const names = new Set<string>();
  for (const f of findings) if (f.column !== undefined) names.add(f.column);
  const columns: string[] = [];
  for (const n of names) {
    if (columns.length === MAX_EVENT_COLUMNS) break;
    let cut = n;
    if (n.length > MAX_EVENT_COLUMN_CHARS) {
      const end = /[\uD800-\uDBFF]/.test(n[MAX_EVENT_COLUMN_CHARS - 1]!) ? MAX_EVENT_COLUMN_CHARS - 1 : MAX_EVENT_COLUMN_CHARS;
      cut = n.slice(0, end);
    }
    if (!columns.includes(cut)) columns.push(cut);
  }
  const dropped = names.size - columns.length;
  return dropped > 0 ? { columns, columnsDropped: dropped } : { columns };
}

function worst(findings: RecordFinding[]): Severity {
  let w: Severity = 'info';
  for (const f of findings) if (severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON object (one record), a JSON array of objects, or JSON Lines (one object per non-blank
 * line; `application/x-ndjson` / `application/jsonl`, or any body that is not one JSON value).
 */
export function parseRecords(raw: Buffer, contentType: string | undefined, maxRecords: number): Record<string, unknown>[] {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new DatasetRecordInvalidError('the request body is empty; send a JSON object, an array of objects or JSON Lines');
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const lines = ct === 'application/x-ndjson' || ct === 'application/jsonl' || ct === 'application/json-lines';
  if (!lines) {
    let v: unknown;
    let ok = true;
    try {
      v = JSON.parse(text);
    } catch {
      ok = false;
    }
    if (ok) {
      if (isObject(v)) return [v];
      if (!Array.isArray(v)) throw new DatasetRecordInvalidError('the request body must be a JSON object, an array of objects or JSON Lines');
      if (v.length === 0) throw new DatasetRecordInvalidError('the request body is an empty array');
      if (v.length > maxRecords) throw new DatasetBatchTooLargeError(`the request holds ${v.length} records; this dataset accepts at most ${maxRecords} per request`);
      v.forEach((x, i) => {
        if (!isObject(x)) throw new DatasetRecordInvalidError(`element ${i} of the array is not a JSON object`);
      });
      return v as Record<string, unknown>[];
    }
    // Not one JSON value: JSON Lines, when it has more than one line.
    if (!/\n/.test(text.trim())) throw new DatasetRecordInvalidError('the request body is not valid JSON');
  }
  const out: Record<string, unknown>[] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.trim();
    if (line === '') continue;
    if (out.length >= maxRecords) throw new DatasetBatchTooLargeError(`the request holds more than ${maxRecords} records; this dataset accepts at most ${maxRecords} per request`);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new DatasetRecordInvalidError(`line ${i + 1} is not valid JSON`);
    }
    if (!isObject(v)) throw new DatasetRecordInvalidError(`line ${i + 1} is not a JSON object`);
    out.push(v);
  }
  if (out.length === 0) throw new DatasetRecordInvalidError('the request body holds no record');
  return out;
}

/** The dataset name of a `/v1/datasets/{name}/records` path, or null for any other path below the prefix. */
export function datasetOfPath(path: string): string | null {
  const m = /^\/v1\/datasets\/([^/]+)\/records$/.exec(path);
  if (!m) return null;
  try {
    const name = decodeURIComponent(m[1]!);
    return name === '' || name.includes('\0') ? null : name;
  } catch {
    return null;
  }
}
