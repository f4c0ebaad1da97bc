// `--write-clean` and `--quarantine`: copies each row of a text dataset (CSV, JSON Lines, gzip
// decompressed) verbatim to one of two files, with the header line in both, by re-reading the
// file and using each row's byte span. Both files are written to temporary names and renamed only
// when complete, so a failure leaves no partial output.
import { createReadStream, createWriteStream, rmSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { DatasetOutputUnsupportedError } from './errors.js';
import type { Dataset } from './types.js';
import { writeSplitNpz } from './write-npz.js';

export interface SplitTargets {
  clean?: string;
  quarantine?: string;
}

/** Writes rows with `quarantine[i] === 0` to `clean` and the others to `quarantine`. */
export async function writeSplit(ds: Dataset, quarantine: Uint8Array, t: SplitTargets): Promise<{ clean: number; quarantined: number }> {
  if (!ds.spans || (ds.format !== 'csv' && ds.format !== 'jsonl')) {
    // NumPy and Parquet inputs: the rows go out as NumPy .npz archives (write-npz.ts).
    for (const target of [t.clean, t.quarantine]) {
      if (target && !target.toLowerCase().endsWith('.npz')) {
        throw new DatasetOutputUnsupportedError(`--write-clean/--quarantine of a ${ds.format} dataset write NumPy .npz archives; name the file *.npz (got ${target})`);
      }
    }
    return writeSplitNpz(ds, quarantine, t);
  }
  const spans = ds.spans;
  const outs: (Writable | undefined)[] = [];
  const tmps: string[] = [];
  const finals: string[] = [];
  for (const target of [t.clean, t.quarantine]) {
    if (!target) {
      outs.push(undefined);
      continue;
    }
    const tmp = `${target}.${process.pid}.tmp`;
    tmps.push(tmp);
    finals.push(target);
    const w = createWriteStream(tmp);
    if (ds.headerBytes) w.write(Buffer.concat([ds.headerBytes, Buffer.from('\n')]));
    outs.push(w);
  }
  const write = async (w: Writable | undefined, b: Uint8Array) => {
    if (w && !w.write(b)) await once(w, 'drain');
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
    for (const w of outs) if (w) {
      w.end();
      await once(w, 'finish');
    }
    tmps.forEach((tmp, i) => renameSync(tmp, finals[i]!));
  } catch (err) {
    for (const w of outs) w?.destroy();
    for (const tmp of tmps) rmSync(tmp, { force: true });
    counts = { clean: 0, quarantined: 0 };
    throw err;
  }
  return counts;
}
