// Writing an output file whole or not at all: the bytes go to a temporary name beside the file and
// are renamed over it when complete. Renaming over something that is not a regular file would
// replace it: `-o /dev/null` run as root turned the device into a plain file. So a target that
// exists and is not a regular file (a device such as /dev/null or /dev/stdout, a FIFO) is written
// directly, and a symbolic link is followed, so the file it points at is replaced and the link kept.
import { realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

export interface ReplaceTarget {
  /** The path that receives the output (a symbolic link resolved). */
  final: string;
  /** Where to write before renaming to `final`; undefined: write `final` directly. */
  tmp: string | undefined;
}

/** How to write `target`: through a temporary file, or directly when it is not a regular file. */
export function replaceTarget(target: string): ReplaceTarget {
  let st;
  try {
    st = statSync(target);
  } catch {
    return { final: target, tmp: `${target}.${process.pid}.tmp` };
  }
  if (!st.isFile()) return { final: target, tmp: undefined };
  const final = realpathSync(target);
  return { final, tmp: `${final}.${process.pid}.tmp` };
}

/** Writes `data` to `target` whole or not at all (see the module comment). */
export function writeFileReplacing(target: string, data: string | Uint8Array): void {
  const t = replaceTarget(target);
  if (t.tmp === undefined) {
    writeFileSync(t.final, data);
    return;
  }
  try {
    writeFileSync(t.tmp, data);
    renameSync(t.tmp, t.final);
  } catch (err) {
    rmSync(t.tmp, { force: true });
    throw err;
  }
}
