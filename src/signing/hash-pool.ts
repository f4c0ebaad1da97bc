// Parallel, streamed hashing of files and byte ranges (shards). Node's hash runs on the calling
// thread, so async streams on one thread hash at one core's speed however many files are open;
// worker threads hash on every core. Small jobs stay on the main thread (a worker costs ~20 ms to
// start). bench/sign.mjs measures both strategies; docs/signing.md has the figures.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** One unit of hashing work: a byte range of a file; `end` undefined means "to end of file". */
export interface HashTask {
  path: string;
  start: number;
  end?: number;
}

export type HashStrategy = 'auto' | 'workers' | 'streams';

export interface HashOptions {
  /** Parallel jobs; defaults to the number of cores. */
  concurrency?: number;
  strategy?: HashStrategy;
  /** Read size; 4 MiB by default. */
  chunkSize?: number;
  /** Total bytes below which `auto` hashes on the main thread. */
  workerThreshold?: number;
  algorithm?: 'sha256';
}

/** Raised when a file cannot be read; callers turn it into their command's coded error. */
export class HashReadError extends Error {
  constructor(
    readonly filePath: string,
    readonly errno: string,
  ) {
    super(`cannot read ${filePath} (${errno})`);
    this.name = 'HashReadError';
  }
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const DEFAULT_WORKER_THRESHOLD = 64 * 1024 * 1024;

// The worker is plain JavaScript evaluated from a string, so it runs the same from the TypeScript
// sources under test and from dist/ (a .ts worker file could not be loaded by Node directly).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
let buf = null;
parentPort.on('message', (t) => {
  let fd = -1;
  try {
    if (!buf || buf.length !== t.chunk) buf = Buffer.allocUnsafe(t.chunk);
    const h = createHash(t.algorithm);
    fd = fs.openSync(t.path, 'r');
    let pos = t.start;
    const end = t.end === null ? Infinity : t.end;
    while (pos < end) {
      const want = Math.min(buf.length, end - pos);
      const n = fs.readSync(fd, buf, 0, want, pos);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
    }
    parentPort.postMessage({ id: t.id, digest: h.digest('hex'), read: pos - t.start });
  } catch (e) {
    parentPort.postMessage({ id: t.id, error: (e && e.code) || 'EIO' });
  } finally {
    if (fd >= 0) { try { fs.closeSync(fd); } catch {} }
  }
});
`;

export interface HashResult {
  /** Lower-case hex digest. */
  digest: string;
  /** Bytes hashed. */
  bytes: number;
}

async function hashOnMainThread(task: HashTask, chunk: number, algorithm: string, buf: Buffer): Promise<HashResult> {
  let fh;
  try {
    fh = await open(task.path, 'r');
  } catch (err) {
    throw new HashReadError(task.path, (err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  try {
    const h = createHash(algorithm);
    let pos = task.start;
    const end = task.end ?? Infinity;
    while (pos < end) {
      const want = Math.min(chunk, end - pos);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { digest: h.digest('hex'), bytes: pos - task.start };
  } catch (err) {
    if (err instanceof HashReadError) throw err;
    throw new HashReadError(task.path, (err as NodeJS.ErrnoException).code ?? 'EIO');
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function runStreams(tasks: readonly HashTask[], conc: number, chunk: number, algorithm: string): Promise<HashResult[]> {
  const out = new Array<HashResult>(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(chunk);
    while (next < tasks.length) {
      const i = next++;
      out[i] = await hashOnMainThread(tasks[i]!, chunk, algorithm, buf);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, tasks.length) }, lane));
  return out;
}

async function runWorkers(tasks: readonly HashTask[], conc: number, chunk: number, algorithm: string): Promise<HashResult[]> {
  const out = new Array<HashResult>(tasks.length);
  const n = Math.min(conc, tasks.length);
  const workers = Array.from({ length: n }, () => new Worker(WORKER_SOURCE, { eval: true }));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= tasks.length) {
                resolve();
                return;
              }
              const id = next++;
              const t = tasks[id]!;
              w.postMessage({ id, path: t.path, start: t.start, end: t.end ?? null, chunk, algorithm });
            };
            w.on('message', (m: { id: number; digest?: string; read?: number; error?: string }) => {
              if (m.error !== undefined) {
                reject(new HashReadError(tasks[m.id]!.path, m.error));
                return;
              }
              out[m.id] = { digest: m.digest!, bytes: m.read! };
              feed();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (next < tasks.length || code !== 0) reject(new Error(`hash worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

/**
 * Hashes every task, in parallel, returning results in task order.
 *
 * @example
 * const [r] = await hashTasks([{ path: 'model.bin', start: 0 }]);
 * r.digest; // sha256 hex of the whole file
 */
export async function hashTasks(tasks: readonly HashTask[], opts: HashOptions = {}, totalBytes?: number): Promise<HashResult[]> {
  if (tasks.length === 0) return [];
  const conc = Math.max(1, opts.concurrency ?? availableParallelism());
  const chunk = opts.chunkSize ?? DEFAULT_CHUNK;
  const algorithm = opts.algorithm ?? 'sha256';
  let strategy = opts.strategy ?? 'auto';
  if (strategy === 'auto') {
    const big = (totalBytes ?? Infinity) >= (opts.workerThreshold ?? DEFAULT_WORKER_THRESHOLD);
    strategy = big && tasks.length > 1 && conc > 1 ? 'workers' : 'streams';
  }
  return strategy === 'workers' ? runWorkers(tasks, conc, chunk, algorithm) : runStreams(tasks, conc, chunk, algorithm);
}
