// Serving encrypted models: decrypt to a stream, to memory, or to a private temporary location a
// model server can load from, wiped afterwards. The temporary location is a fresh 0700 directory
// in /dev/shm when available (RAM-backed, never written to disk) or else the system temp dir.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { FileNotFoundError } from '../core/errors.js';
import { FileByteReader } from './envelope/byte-reader.js';
import { openSegments, prepareOpening, withProviders, type DecryptOptions } from './envelope/envelope.js';
import { decryptPath, ENCRYPTED_SUFFIX, trackTemp } from './envelope/file.js';
import { TAG_LENGTH } from './envelope/format.js';

async function openInput(path: string) {
  return open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new FileNotFoundError(`${path} does not exist`) : err;
  });
}

/**
 * The plaintext of an encrypted file as a Readable (errors with a coded RampartError on tampering;
 * every chunk it emits has been authenticated).
 *
 * @example
 * openDecrypted('model.onnx.enc', { providerOptions: { keyringPath: 'keys.json' } }).pipe(res);
 */
export function openDecrypted(path: string, opts: DecryptOptions = {}): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    const fh = await openInput(path);
    try {
      const reader = new FileByteReader(fh);
      const state = await withProviders(opts, (p) => prepareOpening(reader, opts, p));
      for await (const bufs of openSegments(reader, state)) yield* bufs;
    } finally {
      await fh.close();
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

/**
 * Decrypts a whole file into memory (for model weights a process loads at start). The result is
 * returned only when every segment authenticated; on failure the partial buffer is zeroed.
 */
export async function decryptFileToBuffer(path: string, opts: DecryptOptions = {}): Promise<Buffer> {
  const fh = await openInput(path);
  try {
    const size = (await fh.stat()).size;
    const reader = new FileByteReader(fh);
    const state = await withProviders(opts, (p) => prepareOpening(reader, opts, p));
    const body = size - state.header.raw.length;
    const unit = state.header.segmentSize + TAG_LENGTH;
    // Exact plaintext size from the file size; a mismatch (file changing underneath) is caught below.
    const expected = Math.max(0, body - Math.max(1, Math.ceil(body / unit)) * TAG_LENGTH);
    const out = Buffer.alloc(expected);
    let o = 0;
    try {
      for await (const bufs of openSegments(reader, state)) {
        for (const b of bufs) {
          if (o + b.length > out.length) throw new Error('encrypted file grew while being read');
          o += b.copy(out, o);
          b.fill(0);
        }
      }
      if (o !== out.length) throw new Error('encrypted file shrank while being read');
    } catch (err) {
      out.fill(0);
      throw err;
    }
    return out;
  } finally {
    await fh.close();
  }
}

export interface PrivateTemp {
  /** The decrypted file (or directory) inside the private directory. */
  path: string;
  /** The private 0700 directory holding it. */
  dir: string;
  /** Removes the directory and everything in it; safe to call twice. */
  cleanup(): Promise<void>;
}

export interface PrivateTempOptions extends DecryptOptions {
  /** Name of the decrypted file inside the private dir; default: the input name without `.enc`. */
  name?: string;
  /** Parent of the private dir; default /dev/shm when writable, else the system temp dir. */
  baseDir?: string;
}

/** /dev/shm is RAM-backed on Linux: plaintext never reaches a disk. */
export async function privateTempBase(): Promise<string> {
  try {
    const st = await stat('/dev/shm');
    if (st.isDirectory()) {
      await access('/dev/shm', fsConstants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // not available: fall back
  }
  return tmpdir();
}

/**
 * Decrypts a file or directory into a fresh private directory (mode 0700) and returns its path and
 * a cleanup function. The directory is also removed when the process exits normally.
 *
 * @example
 * const t = await decryptToPrivateTemp('model.bin.enc', { providerOptions: { keyringPath } });
 * try { await loadModel(t.path); } finally { await t.cleanup(); }
 */
export async function decryptToPrivateTemp(input: string, opts: PrivateTempOptions = {}): Promise<PrivateTemp> {
  const base = opts.baseDir ?? (await privateTempBase());
  const dir = join(base, `rampart-${process.pid}-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const untrack = trackTemp(dir);
  const cleanup = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    untrack();
  };
  try {
    const inName = basename(input);
    const name = opts.name ?? (inName.endsWith(ENCRYPTED_SUFFIX) && inName.length > ENCRYPTED_SUFFIX.length ? inName.slice(0, -ENCRYPTED_SUFFIX.length) : `${inName}.dec`);
    const path = join(dir, name);
    await decryptPath(input, path, opts);
    return { path, dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
