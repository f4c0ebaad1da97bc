// The manifest of a model: its items (files or file shards) paired with digests, in the canonical
// order of the reference implementation, plus the serialization parameters needed to recompute
// it. Signing builds one from disk; verification builds one from the signed statement and one
// from disk, and compares them.
import { comparePosixPaths, type ModelFile } from './model-paths.js';
import { hashTasks, type HashOptions, type HashTask } from './hash-pool.js';

export const DEFAULT_SHARD_SIZE = 1_000_000_000;
/** Refuse to build more shards than this (a tiny shard_size in a hostile bundle would exhaust memory). */
export const MAX_SHARDS = 2_000_000;

export type Serialization =
  | { method: 'files'; hashType: 'sha256'; allowSymlinks: boolean; ignorePaths?: string[] }
  | { method: 'shards'; hashType: 'sha256'; allowSymlinks: boolean; shardSize: number; ignorePaths?: string[] };

export interface ManifestItem {
  /** "path" for files, "path:start:end" for shards. */
  name: string;
  /** File path of the item (the name without the shard range). */
  path: string;
  start?: number;
  end?: number;
  algorithm: 'sha256';
  /** Lower-case hex. */
  digest: string;
}

export interface Manifest {
  modelName: string;
  serialization: Serialization;
  items: ManifestItem[];
}

export function compareItems(a: ManifestItem, b: ManifestItem): number {
  return comparePosixPaths(a.path, b.path) || (a.start ?? 0) - (b.start ?? 0) || (a.end ?? 0) - (b.end ?? 0);
}

/** Splits a shard resource name "path:start:end" (the path may not hold ':', as in the reference). */
export function parseShardName(name: string): { path: string; start: number; end: number } | undefined {
  const parts = name.split(':');
  if (parts.length !== 3) return undefined;
  const [p, s, e] = parts as [string, string, string];
  if (!/^\d{1,16}$/.test(s) || !/^\d{1,16}$/.test(e)) return undefined;
  const start = Number(s);
  const end = Number(e);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return undefined;
  return { path: p, start, end };
}

/** The shard ranges of a file of `size` bytes: [0,s), [s,2s), ..., last one ends at size; none if empty. */
export function shardRanges(size: number, shardSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < size; start += shardSize) out.push([start, Math.min(start + shardSize, size)]);
  return out;
}

/** Hashes the listed files (or their shards) into a manifest. */
export async function buildManifest(
  name: string,
  files: readonly ModelFile[],
  serialization: Serialization,
  hashOptions: HashOptions = {},
): Promise<Manifest> {
  const tasks: HashTask[] = [];
  const meta: Array<Omit<ManifestItem, 'digest' | 'algorithm'>> = [];
  let total = 0;
  for (const f of files) {
    total += f.size;
    if (serialization.method === 'files') {
      tasks.push({ path: f.absPath, start: 0 });
      meta.push({ name: f.name, path: f.name });
    } else {
      if (tasks.length + f.size / serialization.shardSize > MAX_SHARDS) throw new RangeError('too many shards');
      for (const [start, end] of shardRanges(f.size, serialization.shardSize)) {
        tasks.push({ path: f.absPath, start, end });
        meta.push({ name: `${f.name}:${start}:${end}`, path: f.name, start, end });
      }
    }
  }
  const results = await hashTasks(tasks, hashOptions, total);
  const items: ManifestItem[] = meta.map((m, i) => ({ ...m, algorithm: 'sha256', digest: results[i]!.digest }));
  items.sort(compareItems);
  return { modelName: name, serialization, items };
}

export type ManifestDifference =
  | { kind: 'mismatch'; path: string }
  | { kind: 'missing'; path: string }
  | { kind: 'extra'; path: string };

/**
 * Compares the signed manifest with the one computed from disk, per file path, and returns the
 * first difference in manifest order (undefined when they are equal). Names compare exactly;
 * the model name is informative only, as in the reference.
 */
export function firstDifference(expected: Manifest, actual: Manifest): ManifestDifference | undefined {
  const group = (m: Manifest): Map<string, Map<string, string>> => {
    const g = new Map<string, Map<string, string>>();
    for (const it of m.items) {
      let e = g.get(it.path);
      if (!e) g.set(it.path, (e = new Map()));
      e.set(it.name, it.digest);
    }
    return g;
  };
  const exp = group(expected);
  const act = group(actual);
  const paths = [...new Set([...exp.keys(), ...act.keys()])].sort(comparePosixPaths);
  for (const p of paths) {
    const e = exp.get(p);
    const a = act.get(p);
    if (!a) return { kind: 'missing', path: p };
    if (!e) return { kind: 'extra', path: p };
    if (e.size !== a.size) return { kind: 'mismatch', path: p };
    for (const [name, digest] of e) if (a.get(name) !== digest) return { kind: 'mismatch', path: p };
  }
  return undefined;
}
