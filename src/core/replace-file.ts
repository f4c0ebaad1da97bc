// Writing an output file whole or not at all: the bytes go to a temporary name beside the file and
// are renamed over it when complete. Renaming over something that is not a regular file would
// replace it: `-o /dev/null` run as root turned the device into a plain file. So:
//   - a target that exists and is not a regular file (a device such as /dev/null or /dev/stdout, a
//     FIFO) is written directly: no temporary file, no rename. Outputs that must be atomic or hold
//     secrets pass `regularOnly` and get RAMPART_ERR_OUTPUT_NOT_REGULAR instead;
//   - a symbolic link is followed (also a dangling one), so the file it points at is written and
//     the link kept;
//   - a regular file (or a new one) is written under a fresh temporary name in the same folder
//     (created exclusively, so a planted name is never written through), renamed over the target
//     when complete and removed on any error. Its mode is the one asked for, else the replaced
//     file's, else the default for a new file.
// docs/scan.md ("Output files") states these rules for users.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readlinkSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { OutputNotRegularError } from './errors.js';

export interface ReplaceOptions {
  /** Mode of the written file, set exactly (not narrowed by the umask). Default: the mode of the file replaced, else 0o666 less the umask. */
  mode?: number;
  /** Refuse a target that exists and is not a regular file (RAMPART_ERR_OUTPUT_NOT_REGULAR). */
  regularOnly?: boolean;
  /** fsync the temporary file before renaming it. */
  fsync?: boolean;
  /** Called with the temporary path once created; returns a function called when it is renamed or removed (signal cleanup). */
  onTemp?: (tmp: string) => () => void;
}

export interface ReplaceTarget {
  /** The path that receives the output (symbolic links resolved). */
  final: string;
  /** Where to write before renaming to `final`; undefined: write `final` directly. */
  tmp: string | undefined;
  /** Mode for the temporary file when it must be set exactly (asked for, or the replaced file's). */
  mode: number | undefined;
}

const MAX_LINKS = 40;

/** Follows symbolic links from `target`, also a dangling last one; the path reached need not exist. */
export function resolveLinks(target: string): string {
  let p = target;
  for (let i = 0; i < MAX_LINKS; i++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(p).isSymbolicLink();
    } catch {
      return p;
    }
    if (!isLink) return p;
    p = path.resolve(path.dirname(p), readlinkSync(p));
  }
  throw Object.assign(new Error(`${target}: too many levels of symbolic links`), { code: 'ELOOP' });
}

function refuse(target: string): never {
  throw new OutputNotRegularError(`${target} is not a regular file; this output is written only to a regular file (written whole or not at all)`, { details: { path: target } });
}

/**
 * How to write `target`: through a temporary file beside the file a link points at, or directly
 * when it exists and is not a regular file (refused with `regularOnly`).
 */
export function replaceTarget(target: string, opts: Pick<ReplaceOptions, 'mode' | 'regularOnly'> = {}): ReplaceTarget {
  const final = resolveLinks(target);
  let st;
  try {
    st = lstatSync(final);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) {
    if (opts.regularOnly) refuse(target);
    return { final, tmp: undefined, mode: undefined };
  }
  const tmp = `${final}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  return { final, tmp, mode: opts.mode ?? (st ? st.mode & 0o7777 : undefined) };
}

/** Opens a non-regular target for writing without creating or truncating; undefined if it turned into a regular file meanwhile. */
function openDirectSync(final: string): number | undefined {
  const fd = openSync(final, constants.O_WRONLY);
  if (fstatSync(fd).isFile()) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

function writeAllSync(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let o = 0; o < buf.length; ) o += writeSync(fd, buf, o, buf.length - o);
}

/**
 * Writes `data` to `target` whole or not at all (see the module comment).
 *
 * @example
 * writeFileReplacing(flags.output, report);                                  // -o FILE, /dev/stdout, a FIFO
 * writeFileReplacing(keyFile, pem, { mode: 0o600, regularOnly: true });      // a secret
 */
export function writeFileReplacing(target: string, data: string | Uint8Array, opts: ReplaceOptions = {}): void {
  let t = replaceTarget(target, opts);
  if (t.tmp === undefined) {
    const fd = openDirectSync(t.final);
    if (fd !== undefined) {
      try {
        writeAllSync(fd, data);
      } finally {
        closeSync(fd);
      }
      return;
    }
    t = replaceTarget(target, opts);
    if (t.tmp === undefined) refuse(target);
  }
  const tmp = t.tmp;
  const untrack = opts.onTemp?.(tmp);
  try {
    const fd = openSync(tmp, 'wx', t.mode ?? 0o666);
    try {
      if (t.mode !== undefined) fchmodSync(fd, t.mode);
      writeAllSync(fd, data);
      if (opts.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, t.final);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    untrack?.();
  }
}

export interface ReplacingOutput {
  /** Open for writing: the temporary file, or the target itself when `direct`. */
  fh: FileHandle;
  /** True when writing straight to a device or FIFO: not seekable, not undone on failure. */
  direct: boolean;
  /** The path that receives the output (symbolic links resolved). */
  final: string;
}

/**
 * Streams an output to `target` under the rules of the module comment: `fn` writes to `out.fh`;
 * when it resolves the temporary file is closed and renamed over the target, when it throws the
 * temporary file is removed and the error passed on.
 *
 * @example
 * await withFileReplacing(file, { mode: 0o600 }, async ({ fh }) => { await fh.write(text); });
 */
export async function withFileReplacing<T>(target: string, opts: ReplaceOptions, fn: (out: ReplacingOutput) => Promise<T>): Promise<T> {
  let t = replaceTarget(target, opts);
  if (t.tmp === undefined) {
    const fh = await open(t.final, constants.O_WRONLY);
    if (!(await fh.stat()).isFile()) {
      try {
        return await fn({ fh, direct: true, final: t.final });
      } finally {
        await fh.close();
      }
    }
    await fh.close();
    t = replaceTarget(target, opts);
    if (t.tmp === undefined) refuse(target);
  }
  const tmp = t.tmp;
  const untrack = opts.onTemp?.(tmp);
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, 'wx', t.mode ?? 0o666);
    if (t.mode !== undefined) await fh.chmod(t.mode);
    const result = await fn({ fh, direct: false, final: t.final });
    if (opts.fsync) await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, t.final);
    return result;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  } finally {
    untrack?.();
  }
}

/**
 * A Writable over `fh` that leaves it open (FileHandle.createWriteStream with autoClose off keeps
 * the handle referenced, so closing it afterwards never completes). Partial writes are resumed.
 */
export function writableOn(fh: FileHandle): Writable {
  const writeAll = async (buf: Buffer): Promise<void> => {
    for (let o = 0; o < buf.length; ) o += (await fh.write(buf, o, buf.length - o)).bytesWritten;
  };
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      writeAll(chunk).then(() => cb(), cb);
    },
  });
}
