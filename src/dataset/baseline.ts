// The trusted dataset baseline (`rampart dataset baseline`): schema, column types, ranges and
// quantiles, class balance, and a manifest of row hashes (keyed by --id when given) that
// `rampart dataset diff` and scans use to tell new and changed rows, and (optional, absent in
// baselines written before it existed) the multivariate model the ingest guard scores records
// with. JSON, written atomically.
import { readFileSync } from 'node:fs';
import { writeFileReplacing } from '../core/replace-file.js';
import { z } from 'zod';
import { profileColumn, type NumericProfile } from '../detect/dataset/column-profile.js';
import { column } from '../detect/dataset/stats.js';
import { DatasetBaselineInvalidError } from './errors.js';
import { buildMultivariate, type MultivariateBaseline } from './multivariate-baseline.js';
import type { ColumnKind, Dataset } from './types.js';

export interface DatasetBaseline {
  kind: 'rampart-dataset-baseline';
  version: 1;
  createdAt: string;
  rows: number;
  label?: string;
  columns: { name: string; kind: ColumnKind; missing: number; profile?: NumericProfile }[];
  classBalance?: Record<string, number>;
  /** Robust covariance model of the numeric features (RMP-DATA-031 at ingestion); optional. */
  multivariate?: MultivariateBaseline;
  manifest: { key: 'id' | 'content'; rows: [string, string][] };
}

const schema = z
  .object({
    kind: z.literal('rampart-dataset-baseline'),
    version: z.literal(1),
    createdAt: z.string(),
    rows: z.number().int().nonnegative(),
    label: z.string().optional(),
    columns: z.array(
      z
        .object({
          name: z.string(),
          kind: z.enum(['numeric', 'string', 'empty']),
          missing: z.number(),
          profile: z
            .object({ count: z.number(), missing: z.number(), min: z.number().nullable(), max: z.number().nullable(), mean: z.number().nullable(), quantiles: z.array(z.number().nullable()) })
            .strict()
            .optional(),
        })
        .strict(),
    ),
    classBalance: z.record(z.number()).optional(),
    multivariate: z
      .object({
        features: z.array(z.string()).min(1),
        center: z.array(z.number()),
        scale: z.array(z.number().positive()),
        mean: z.array(z.number()),
        chol: z.array(z.number()),
        med: z.number(),
        mad: z.number().positive(),
        threshold: z.number(),
      })
      .strict()
      .refine((m) => {
        const p = m.features.length;
        return m.center.length === p && m.scale.length === p && m.mean.length === p && m.chol.length === (p * (p + 1)) / 2;
      }, 'multivariate: array lengths do not match the feature count')
      .optional(),
    manifest: z.object({ key: z.enum(['id', 'content']), rows: z.array(z.tuple([z.string(), z.string()])) }).strict(),
  })
  .strict();

export function buildBaseline(ds: Dataset, label?: string): DatasetBaseline {
  const feat = new Map(ds.featureNames.map((nm, j) => [nm, j]));
  const columns = ds.columns.map((c) => {
    const j = feat.get(c.name);
    const col: DatasetBaseline['columns'][number] = { name: c.name, kind: c.kind, missing: c.missing };
    if (j !== undefined) col.profile = profileColumn(column(ds.X, ds.n, ds.d, j));
    return col;
  });
  const b: DatasetBaseline = {
    kind: 'rampart-dataset-baseline',
    version: 1,
    createdAt: new Date().toISOString(),
    rows: ds.n,
    columns,
    manifest: { key: ds.ids ? 'id' : 'content', rows: manifestRows(ds) },
  };
  if (label !== undefined) b.label = label;
  if (ds.labels) b.classBalance = countLabels(ds.labels);
  const mv = buildMultivariate(ds);
  if (mv) b.multivariate = mv;
  return b;
}

export function manifestRows(ds: Dataset): [string, string][] {
  return ds.rowHashes.map((h, i) => [ds.ids ? ds.ids[i]! : h, h]);
}

export function countLabels(labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of labels) if (l !== '') out[l] = (out[l] ?? 0) + 1;
  return out;
}

export function writeBaseline(file: string, b: DatasetBaseline): void {
  // NaN/Infinity become null in JSON; the reader maps them back.
  writeFileReplacing(file, JSON.stringify(b) + '\n');
}

export function readBaseline(file: string): DatasetBaseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DatasetBaselineInvalidError(`cannot read dataset baseline ${file}`, { cause: err });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new DatasetBaselineInvalidError(`${file} is not a Rampart dataset baseline: ${r.error.issues[0]?.message ?? ''}`);
  const b = r.data as unknown as DatasetBaseline;
  for (const c of b.columns) {
    if (!c.profile) continue;
    const p = c.profile as unknown as Record<string, unknown>;
    for (const k of ['min', 'max', 'mean']) if (p[k] === null) p[k] = NaN;
  }
  return b;
}

export interface ManifestDiff {
  /** Keys (ids, or hashes when compared by content) of the NEW rows not in the old manifest. */
  added: string[];
  /** Keys of old rows not in NEW. */
  removed: string[];
  /** Ids whose row content differs (compared by id only). */
  changed: string[];
  unchanged: number;
  /** 0-based rows of NEW that are added or changed, in file order: the rows to check first. */
  freshRows: number[];
  /** The rows of `freshRows` that are changed rather than added. */
  changedRows: Set<number>;
  /** Whether the rows were matched by id (else by content). */
  byId: boolean;
}

/**
 * A row-by-row differ for streaming readers: each call takes the next row's id (when the dataset
 * has ids) and content hash and says whether the row is new or changed since `old`, with the same
 * rules as diffRows.
 */
export function rowDiffer(old: DatasetBaseline['manifest']): (id: string | undefined, hash: string) => boolean {
  const byId = old.key === 'id' ? new Map(old.rows) : undefined;
  const count = new Map<string, number>();
  for (const [, h] of old.rows) count.set(h, (count.get(h) ?? 0) + 1);
  return (id, hash) => {
    if (byId && id !== undefined) return byId.get(id) !== hash;
    const c = count.get(hash) ?? 0;
    if (c === 0) return true;
    count.set(hash, c - 1);
    return false;
  };
}

/**
 * Compares a dataset with an older manifest row by row: by id when the manifest is keyed by id and
 * the dataset has ids (`--id`), else as multisets of row hashes (added and removed only; a row whose
 * content appears more often than before counts as added).
 */
export function diffRows(old: DatasetBaseline['manifest'], ds: Dataset): ManifestDiff {
  const fresh: number[] = [];
  const changedRows = new Set<number>();
  const added: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  if (old.key === 'id' && ds.ids) {
    const o = new Map(old.rows);
    const seen = new Set<string>();
    for (let i = 0; i < ds.n; i++) {
      const id = ds.ids[i]!;
      seen.add(id);
      const prev = o.get(id);
      if (prev === undefined) {
        added.push(id);
        fresh.push(i);
      } else if (prev !== ds.rowHashes[i]) {
        changed.push(id);
        changedRows.add(i);
        fresh.push(i);
      } else unchanged++;
    }
    const removed = [...o.keys()].filter((k) => !seen.has(k));
    return { added, removed, changed, unchanged, freshRows: fresh, changedRows, byId: true };
  }
  const count = new Map<string, number>();
  for (const [, h] of old.rows) count.set(h, (count.get(h) ?? 0) + 1);
  for (let i = 0; i < ds.n; i++) {
    const h = ds.rowHashes[i]!;
    const c = count.get(h) ?? 0;
    if (c > 0) {
      count.set(h, c - 1);
      unchanged++;
    } else {
      added.push(h);
      fresh.push(i);
    }
  }
  const removed: string[] = [];
  for (const [h, c] of count) for (let t = 0; t < c; t++) removed.push(h);
  return { added, removed, changed, unchanged, freshRows: fresh, changedRows, byId: false };
}
