// `--write-clean` and `--quarantine`: splits a dataset's rows between two files, in the input's own
// format unless the output name asks for the one alternative (docs/datasets.md, "Clean and
// quarantine files"):
//   CSV / JSON Lines (gzip too): rows copied byte for byte, header line kept; a name ending in `.gz`
//                      gets the text gzip-compressed. A binary extension (.npz .npy .parquet) is refused.
//   .npy:              `.npy`, the rows of the matrix as stored (write-npy-rows.ts); or `.npz` (X, y, …).
//   .npz:              `.npz`, every row-aligned array cut to the rows, other members as they were.
//   Parquet:           `.parquet`, the rows with the input's schema (write-parquet.ts); or `.npz` (X, y, …).
// Any other name is refused with RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED before anything is written.
// Every file is written to a temporary name and renamed only when all are complete, so a failure
// leaves no partial output.
import { createReadStream, createWriteStream, realpathSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { UsageError } from '../core/errors.js';
import { replaceTarget } from '../core/replace-file.js';
import { DatasetOutputUnsupportedError } from './errors.js';
import type { Dataset, DatasetFormat } from './types.js';
import { npyFileRows, npzFileRows } from './write-npy-rows.js';
import { npzOfRows } from './write-npz.js';

export interface SplitTargets {
  clean?: string;
  quarantine?: string;
}

type OutputKind = 'text' | 'text-gzip' | 'npy' | 'npz-rows' | 'npz-arrays' | 'parquet';

const BINARY_EXT = /\.(npz|npy|parquet|pq)$/i;

const FORMAT_NAME: Record<DatasetFormat | 'gzip', string> = { csv: 'CSV', jsonl: 'JSON Lines', gzip: 'gzip text', npy: '.npy', npz: '.npz', parquet: 'Parquet' };

/**
 * The output kind for a target name given the input's format (`gzip`: compressed CSV or JSON
 * Lines), or RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED naming what that format can write.
 */
export function outputKind(format: DatasetFormat | 'gzip', target: string): OutputKind {
  const lower = target.toLowerCase();
  const refuse = (allowed: string): never => {
    throw new DatasetOutputUnsupportedError(`--write-clean/--quarantine of a ${FORMAT_NAME[format]} dataset write ${allowed}; got ${target}`, { details: { format, target } });
  };
  switch (format) {
    case 'csv':
    case 'jsonl':
    case 'gzip':
      if (BINARY_EXT.test(lower)) refuse('its own text format (any name; gzip-compressed when it ends in .gz), not .npz, .npy or .parquet');
      return lower.endsWith('.gz') ? 'text-gzip' : 'text';
    case 'npy':
      if (lower.endsWith('.npy')) return 'npy';
      if (lower.endsWith('.npz')) return 'npz-arrays';
      return refuse('*.npy (the matrix rows as stored) or *.npz');
    case 'npz':
      if (lower.endsWith('.npz')) return 'npz-rows';
      return refuse('*.npz');
    case 'parquet':
      if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
      if (lower.endsWith('.npz')) return 'npz-arrays';
      return refuse('*.parquet or *.npz');
  }
}

/** Checks the target names against a dataset file's format before it is scanned (no output yet). */
export function checkSplitTargets(file: string, format: DatasetFormat | 'gzip', t: SplitTargets): void {
  checkTargets(file, t);
  for (const target of [t.clean, t.quarantine]) if (target) outputKind(format, target);
}

/** The path a name refers to, symbolic links resolved when it exists. */
function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function checkTargets(file: string, t: SplitTargets): void {
  const input = real(file);
  if (t.clean && t.quarantine && real(t.clean) === real(t.quarantine) && !isDevice(t.clean)) throw new UsageError('--write-clean and --quarantine name the same file');
  for (const target of [t.clean, t.quarantine]) if (target && real(target) === input) throw new UsageError(`--write-clean/--quarantine would overwrite the dataset being scanned (${target})`);
}

/** An existing target that is not a regular file (/dev/null): both sides may go there. */
function isDevice(p: string): boolean {
  return replaceTarget(p).tmp === undefined;
}

/** Writes rows with `quarantine[i] === 0` to `clean` and the others to `quarantine`. */
export async function writeSplit(ds: Dataset, quarantine: Uint8Array, t: SplitTargets): Promise<{ clean: number; quarantined: number }> {
  checkTargets(ds.file, t);
  const kinds = { clean: t.clean ? outputKind(ds.format, t.clean) : undefined, quarantine: t.quarantine ? outputKind(ds.format, t.quarantine) : undefined };
  if (ds.format === 'csv' || ds.format === 'jsonl') return writeText(ds, quarantine, t, kinds.clean === 'text-gzip', kinds.quarantine === 'text-gzip');
  let q = 0;
  for (let i = 0; i < ds.n; i++) q += quarantine[i]!;
  const want = (flag: 0 | 1) => {
    const rows: number[] = [];
    for (let i = 0; i < ds.n; i++) if (quarantine[i] === flag) rows.push(i);
    return rows;
  };
  const jobs = (
    [
      [t.clean, kinds.clean, 0],
      [t.quarantine, kinds.quarantine, 1],
    ] as const
  ).filter((j): j is readonly [string, OutputKind, 0 | 1] => j[0] !== undefined);
  // Parquet files are read once for both targets.
  // (The Parquet writer is loaded only here: ~50 ms that other commands should not pay.)
  let parquet: Uint8Array[] = [];
  if (jobs.some((j) => j[1] === 'parquet')) {
    const { parquetOfRows } = await import('./write-parquet.js');
    parquet = await parquetOfRows(ds.file, jobs.filter((j) => j[1] === 'parquet').map((j) => (i: number) => quarantine[i] === j[2]));
  }
  const places = jobs.map(([target]) => replaceTarget(target));
  const written: string[] = [];
  try {
    for (const [k, [, kind, flag]] of jobs.entries()) {
      let bytes: Uint8Array;
      if (kind === 'parquet') bytes = parquet.shift()!;
      else if (kind === 'npy') bytes = npyFileRows(ds.file, want(flag));
      else if (kind === 'npz-rows') bytes = npzFileRows(ds.file, ds.n, want(flag));
      else bytes = npzOfRows(ds, (i) => quarantine[i] === flag);
      const at = places[k]!.tmp ?? places[k]!.final;
      if (places[k]!.tmp) written.push(at);
      writeFileSync(at, bytes, places[k]!.tmp ? { flag: 'wx', mode: places[k]!.mode ?? 0o666 } : {});
    }
    for (const pl of places) if (pl.tmp) renameSync(pl.tmp, pl.final);
  } catch (err) {
    for (const tmp of written) rmSync(tmp, { force: true });
    throw err;
  }
  return { clean: ds.n - q, quarantined: q };
}

/** Text datasets: re-reads the file and copies each row's byte span, header line first. */
async function writeText(ds: Dataset, quarantine: Uint8Array, t: SplitTargets, gzipClean: boolean, gzipQuarantine: boolean): Promise<{ clean: number; quarantined: number }> {
  if (!ds.spans) throw new DatasetOutputUnsupportedError(`${ds.file}: row positions are unknown`);
  const spans = ds.spans;
  const outs: (Writable | undefined)[] = [];
  const files: Writable[] = [];
  const renames: { tmp: string; final: string }[] = [];
  for (const [target, gz] of [
    [t.clean, gzipClean],
    [t.quarantine, gzipQuarantine],
  ] as const) {
    if (!target) {
      outs.push(undefined);
      continue;
    }
    const place = replaceTarget(target);
    if (place.tmp) renames.push({ tmp: place.tmp, final: place.final });
    const file = place.tmp ? createWriteStream(place.tmp, { flags: 'wx', mode: place.mode ?? 0o666 }) : createWriteStream(place.final);
    files.push(file);
    const w = gz ? createGzip() : file;
    if (gz) w.pipe(file);
    if (ds.headerBytes) w.write(Buffer.concat([ds.headerBytes, Buffer.from('\n')]));
    outs.push(w);
  }
  // Settles when every file is closed; its rejection is observed below, never left unhandled.
  const closed = Promise.all(files.map((f) => finished(f)));
  closed.catch(() => undefined);
  // A file that fails (disk full) while gzip waits for room rejects `closed`: no wait for a drain
  // that never comes.
  const write = async (w: Writable | undefined, b: Uint8Array) => {
    if (w && !w.write(b)) await Promise.race([once(w, 'drain'), closed]);
  };
  let counts = { clean: 0, quarantined: 0 };
  try {
    const raw = createReadStream(ds.file, { highWaterMark: 1 << 20 });
    const src = ds.gzip ? raw.pipe(createGunzip()) : raw;
    let base = 0;
    let r = 0;
    for await (const chunk of src as AsyncIterable<Buffer>) {
      const endOfChunk = base + chunk.length;
      while (r < ds.n) {
        const s = spans[2 * r]!;
        const e = spans[2 * r + 1]!;
        if (s >= endOfChunk) break;
        const w = quarantine[r] ? outs[1] : outs[0];
        const from = Math.max(s, base);
        const to = Math.min(e, endOfChunk);
        if (to > from) await write(w, chunk.subarray(from - base, to - base));
        if (e > endOfChunk) break;
        await write(w, Buffer.from('\n'));
        if (quarantine[r]) counts.quarantined++;
        else counts.clean++;
        r++;
      }
      base = endOfChunk;
    }
    for (const w of outs) w?.end();
    await closed;
    for (const r of renames) renameSync(r.tmp, r.final);
  } catch (err) {
    for (const w of outs) w?.destroy();
    for (const f of files) f.destroy();
    for (const r of renames) rmSync(r.tmp, { force: true });
    counts = { clean: 0, quarantined: 0 };
    throw err;
  }
  return counts;
}
