// File and directory encryption with atomic output: everything is written under a temporary name
// beside the target and renamed into place only when complete, so a failure (wrong key, tampering,
// a full disk, Ctrl-C) leaves nothing behind. Temporary paths are also removed on process exit.
// Output names follow core/replace-file.ts: a symbolic link is followed (the file it points at is
// replaced, the link kept); ciphertext to a device or FIFO (`-o /dev/stdout`) is streamed directly;
// plaintext is never streamed: a decryption output that is not a regular file is refused
// (RAMPART_ERR_OUTPUT_NOT_REGULAR), since a reader would see plaintext of a file whose tampering or
// truncation is only detected later, with nothing to undo.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { FileNotFoundError, OutputNotRegularError, UsageError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { replaceTarget, resolveLinks, withFileReplacing } from '../../core/replace-file.js';
import { CryptoOutputExistsError } from '../errors.js';
import { FileByteReader } from './byte-reader.js';
import { sealSegmentsParallel } from './parallel-seal.js';
import { canSealFiles, MAX_SEGMENTS } from './segments.js';
import { openSegments, prepareOpening, prepareSealing, prepareSealingEarly, sealSegments, withProviders, type DecryptOptions, type EncryptOptions } from './envelope.js';
import type { ProviderSet } from '../providers/provider-set.js';

export const ENCRYPTED_SUFFIX = '.enc';
/** Below this size, starting worker threads costs more than it saves. */
const PARALLEL_MIN_SIZE = 8 * 1024 * 1024;
/**
 * Files are read and written in blocks of about 4 MiB, into buffers reused in turn (writeBlocks is
 * done with a block before it asks for the next-but-one): 2 input + 2 output blocks in memory.
 */
const FILE_BLOCKS = { blockTarget: 4 * 1024 * 1024, reuseOutput: true } as const;
/**
 * The native file job (SegmentCipher.sealFile) reads, seals and writes 256 KiB at a time, with no
 * JavaScript per block; large enough that system-call overhead is small. 4 MiB writes sometimes
 * made the kernel's copy into the page cache several times slower on the VMs measured (see
 * bench/README.md, "The CLI against age"); 256 KiB writes never did. A second native thread writes
 * while the next block is read and sealed. Memory: 2 input + 4 output blocks.
 */
const NATIVE_FILE_BLOCKS = { blockBytes: 256 * 1024, pipelined: true } as const;

const inflight = new Set<string>();
let exitHookInstalled = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function removeAllSync(): void {
  for (const p of inflight) rmSync(p, { recursive: true, force: true });
  inflight.clear();
}

/**
 * A terminating signal would kill the process without 'exit' handlers, leaving partial plaintext.
 * While temporary paths exist, remove them and re-raise the signal, unless another listener (such
 * as `decrypt --to-temp` waiting for its child) has taken charge of that signal.
 */
function onSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) return;
  removeAllSync();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.kill(process.pid, sig);
}

/** Registers a temporary path for removal if the process exits or is signalled before it is renamed. */
export function trackTemp(path: string): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', removeAllSync);
  }
  if (inflight.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  inflight.add(path);
  return () => {
    inflight.delete(path);
    if (inflight.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
  };
}

export function tempSibling(target: string): string {
  return join(dirname(target), `.${basename(target)}.rampart-${randomBytes(6).toString('hex')}.tmp`);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes blocks in order, keeping one writev in flight while the next block is produced. A block
 * is written completely before the next-but-one is requested (sealSegments' reuseOutput relies on it).
 */
async function writeBlocks(fh: FileHandle, blocks: AsyncIterable<Buffer[]> | Iterable<Buffer[]>): Promise<number> {
  let total = 0;
  let pending: Promise<void> = Promise.resolve();
  const writeAll = async (bufs: Buffer[]): Promise<void> => {
    let rest = bufs;
    while (rest.length > 0) {
      const { bytesWritten } = await fh.writev(rest);
      let n = bytesWritten;
      // writev may write less than asked; resume from the first unwritten byte.
      let i = 0;
      while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
      rest = rest.slice(i);
      if (rest.length > 0 && n > 0) rest[0] = rest[0]!.subarray(n);
    }
  };
  try {
    for await (const bufs of blocks) {
      await pending;
      for (const b of bufs) total += b.length;
      pending = writeAll(bufs);
    }
  } finally {
    // Never leave a write running against a handle the caller is about to close.
    await pending.catch(() => undefined);
  }
  await pending;
  return total;
}

export interface FileResult {
  input: string;
  output: string;
  bytesIn: number;
  bytesOut: number;
}

export interface FileOptions {
  /** Replace an existing output file. Directories are never merged. */
  force?: boolean;
  logger?: Logger;
}

export interface AtomicWriteOptions {
  /** Refuse a target that is not a regular file instead of writing it directly (plaintext, in-place rewrites). */
  regularOnly?: boolean;
}

/**
 * Writes `target` atomically with the given mode: fn writes into a temp file that is renamed on
 * success (removed on failure or a terminating signal). A device or FIFO target is written
 * directly (`direct`: not seekable) unless `regularOnly`; a symbolic link is followed.
 */
export async function writeFileAtomic<T>(target: string, mode: number, fn: (fh: FileHandle, direct: boolean) => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  return withFileReplacing(target, { mode, regularOnly: opts.regularOnly, onTemp: trackTemp }, ({ fh, direct }) => fn(fh, direct));
}

async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(`${path} does not exist`);
    throw err;
  }
}

/**
 * Before any key is touched: a directory is refused, a regular file (also behind a link) needs
 * `force`; a device or FIFO replaces nothing and needs no `force`, but is refused for plaintext.
 */
async function checkOutput(output: string, force: boolean | undefined, regularOnly: boolean): Promise<void> {
  const st = await lstat(resolveLinks(output)).catch(() => null);
  if (!st) return;
  if (st.isDirectory()) throw new CryptoOutputExistsError(`${output} exists and is a directory`);
  if (!st.isFile()) {
    if (regularOnly) throw new OutputNotRegularError(`${output} is not a regular file; decrypted output is written only whole, to a regular file (or use --to-temp)`);
    return;
  }
  if (!force) throw new CryptoOutputExistsError(`${output} already exists (use --force to replace it)`);
}

/** Writes all of `buf` at `position` (FileHandle.write may write less than asked). */
async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let o = 0; o < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, o, buf.length - o, position + o);
    o += bytesWritten;
  }
}

/**
 * The native file job (canSealFile), started before the data key is wrapped when the provider
 * allows it (prepareSealingEarly): the payload is sealed at its final offset while the provider
 * unlocks its key, and the header is written last, at offset 0. If wrapping fails the job is
 * cancelled and the temporary file removed like after any failure.
 */
async function encryptNative(fh: FileHandle, output: string, size: number, opts: EncryptOptions, providers: ProviderSet): Promise<{ bytesIn: number; bytesOut: number }> {
  const early = await prepareSealingEarly(opts, providers);
  const state = early?.state ?? (await prepareSealing(opts, providers));
  const seg = state.segmentSize;
  try {
    if (Math.max(1, Math.ceil(size / seg)) - 1 > MAX_SEGMENTS) throw new UsageError('input too large for this segment size');
    let bytesIn = 0;
    const bytesOut = await writeFileAtomic(output, 0o644, async (out) => {
      if (!early) {
        await writeAt(out, state.header, 0);
        const r = await state.cipher.sealFile(fh.fd, out.fd, state.header.length, seg, NATIVE_FILE_BLOCKS);
        bytesIn = r.bytesIn;
        return state.header.length + r.bytesOut;
      }
      const cancel = Buffer.alloc(4);
      const sealing = state.cipher.sealFile(fh.fd, out.fd, state.header.length, seg, { ...NATIVE_FILE_BLOCKS, cancel });
      let header: Buffer;
      let r: { bytesIn: number; bytesOut: number };
      try {
        // Whichever fails first ends the file (a disk error does not wait for the unlock).
        [header, r] = await Promise.all([early.header, sealing]);
      } catch (err) {
        cancel[0] = 1;
        await sealing.catch(() => undefined);
        throw err;
      }
      if (header.length !== state.header.length) {
        // The wrapped key's length changed between peekWrap and wrap (a rotation meanwhile), so the
        // segments are not where the header ends. They are sealed again, under a fresh data key and
        // nonce prefix: the same key and nonces over an input that changed meanwhile would reuse
        // GCM nonces on different plaintexts (the first pass was on disk in the temporary file).
        await out.truncate(0);
        const fresh = await prepareSealing(opts, providers);
        try {
          await writeAt(out, fresh.header, 0);
          const again = await fresh.cipher.sealFile(fh.fd, out.fd, fresh.header.length, fresh.segmentSize, NATIVE_FILE_BLOCKS);
          bytesIn = again.bytesIn;
          return fresh.header.length + again.bytesOut;
        } finally {
          fresh.cipher.release();
        }
      }
      await writeAt(out, header, 0);
      bytesIn = r.bytesIn;
      return header.length + r.bytesOut;
    });
    return { bytesIn, bytesOut };
  } finally {
    state.cipher.release();
  }
}

async function encryptOne(input: string, output: string, opts: EncryptOptions, providers: Parameters<typeof prepareSealing>[1]): Promise<FileResult> {
  const fh = await openInput(input);
  try {
    const jobs = opts.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError('jobs must be an integer from 1 to 64');
    const size = (await fh.stat()).size;
    // The native job writes at offsets (header last): only into a regular (temporary) file.
    const streamed = replaceTarget(output).tmp === undefined;
    if (jobs === 1 && canSealFiles() && !streamed) return { input, output, ...(await encryptNative(fh, output, size, opts, providers)) };
    const state = await prepareSealing(opts, providers);
    if (jobs > 1 && size >= PARALLEL_MIN_SIZE) {
      const bytesOut = await writeFileAtomic(output, 0o644, (out) => writeBlocks(out, sealSegmentsParallel(fh, state, jobs)));
      return { input, output, bytesIn: size, bytesOut };
    }
    const reader = new FileByteReader(fh);
    const bytesOut = await writeFileAtomic(output, 0o644, (out) => writeBlocks(out, sealSegments(reader, state, FILE_BLOCKS)));
    return { input, output, bytesIn: reader.offset, bytesOut };
  } finally {
    await fh.close();
  }
}

async function decryptOne(input: string, output: string, opts: DecryptOptions, providers: Parameters<typeof prepareOpening>[2]): Promise<FileResult> {
  const fh = await openInput(input);
  try {
    const reader = new FileByteReader(fh);
    const state = await prepareOpening(reader, opts, providers);
    // Plaintext of a protected artifact: owner-only.
    const bytesOut = await writeFileAtomic(output, 0o600, (out) => writeBlocks(out, openSegments(reader, state, FILE_BLOCKS)), { regularOnly: true });
    return { input, output, bytesIn: reader.offset, bytesOut };
  } finally {
    await fh.close();
  }
}

/** Encrypts one file to `output` (atomic). */
export async function encryptFile(input: string, output: string, opts: EncryptOptions & FileOptions): Promise<FileResult> {
  await checkOutput(output, opts.force, false);
  return withProviders(opts, (p) => encryptOne(input, output, opts, p));
}

/** Decrypts one file to `output` (atomic; nothing is left behind on any failure). */
export async function decryptFile(input: string, output: string, opts: DecryptOptions & FileOptions = {}): Promise<FileResult> {
  await checkOutput(output, opts.force, true);
  return withProviders(opts, (p) => decryptOne(input, output, opts, p));
}

/** Regular files under `root`, relative paths, sorted; symlinks and special files are skipped. */
export async function listTree(root: string, logger?: Logger): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full));
      // Following links could read files outside the tree the user named.
      else logger?.warn({ path: full }, 'skipping a symbolic link or special file');
    }
  };
  await walk(root);
  return out;
}

export interface TreeResult {
  files: FileResult[];
}

async function processTree(
  input: string,
  output: string,
  rename_: (rel: string) => string,
  one: (src: string, dst: string) => Promise<FileResult>,
  logger?: Logger,
): Promise<TreeResult> {
  if (await exists(output)) throw new CryptoOutputExistsError(`${output} already exists (a directory output must not exist yet)`);
  const rel = relative(input, output);
  if (rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))) {
    throw new UsageError('the output directory must not be inside the input directory');
  }
  const files = await listTree(input, logger);
  await mkdir(dirname(output), { recursive: true });
  const staging = tempSibling(output);
  const untrack = trackTemp(staging);
  try {
    await mkdir(staging, { mode: 0o700 });
    const results: FileResult[] = [];
    for (const f of files) {
      const dst = join(staging, rename_(f));
      await mkdir(dirname(dst), { recursive: true, mode: 0o700 });
      const r = await one(join(input, f), dst);
      results.push({ ...r, output: join(output, rename_(f)) });
    }
    await rename(staging, output);
    return { files: results };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    untrack();
  }
}

async function inputKind(path: string): Promise<'file' | 'dir'> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FileNotFoundError(`${path} does not exist`);
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new UsageError(`${path} is neither a file nor a directory`);
}

/**
 * Encrypts a file, or every file of a directory tree into `output` (a new directory, same tree,
 * each file gaining the `.enc` suffix). One data key per file.
 */
export async function encryptPath(input: string, output: string, opts: EncryptOptions & FileOptions): Promise<TreeResult> {
  const kind = await inputKind(input);
  if (kind === 'file') return { files: [await encryptFile(input, output, opts)] };
  return withProviders(opts, (p) =>
    processTree(input, output, (f) => f + ENCRYPTED_SUFFIX, (src, dst) => encryptOne(src, dst, opts, p), opts.logger),
  );
}

/**
 * Decrypts a file, or every file of a directory tree into `output` (a new directory; a trailing
 * `.enc` is removed from each name). All or nothing: any failure leaves no output at all.
 */
export async function decryptPath(input: string, output: string, opts: DecryptOptions & FileOptions = {}): Promise<TreeResult> {
  const kind = await inputKind(input);
  if (kind === 'file') return { files: [await decryptFile(input, output, opts)] };
  return withProviders(opts, (p) =>
    processTree(
      input,
      output,
      (f) => (f.endsWith(ENCRYPTED_SUFFIX) && f.length > ENCRYPTED_SUFFIX.length ? f.slice(0, -ENCRYPTED_SUFFIX.length) : f),
      (src, dst) => decryptOne(src, dst, opts, p),
      opts.logger,
    ),
  );
}
