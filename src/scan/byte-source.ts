// ByteSource implementations: a file on disk read through its handle (only the ranges asked for are
// read, so tensor payloads are never touched), a buffer in memory (decompressed streams), and a
// slice of another source (archive members stored without compression).
import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from './types.js';

export class BufferByteSource implements ByteSource {
  readonly size: number;
  constructor(private readonly buf: Uint8Array) {
    this.size = buf.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.readSync(offset, length));
  }
  readSync(offset: number, length: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.size));
    return this.buf.subarray(start, Math.min(this.size, start + Math.max(0, length)));
  }
  get bytes(): Uint8Array {
    return this.buf;
  }
}

const WIDEN = 4096;

/** Reads a file through an open handle; keeps the last block read to serve small adjacent reads. */
export class FileByteSource implements ByteSource {
  private cacheOff = -1;
  private cache: Uint8Array = new Uint8Array(0);
  /** Bytes actually read from disk (for benchmarks and tests of the no-payload-read promise). */
  bytesRead = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.min(this.size, start + Math.max(0, length));
    if (end <= start) return new Uint8Array(0);
    if (this.cacheOff >= 0 && start >= this.cacheOff && end <= this.cacheOff + this.cache.length) {
      return this.cache.subarray(start - this.cacheOff, end - this.cacheOff);
    }
    // Small reads are widened to 4 KiB so that header walks (zip local headers, tar blocks) do
    // not cost one system call each, without pulling in tensor bytes; large reads are exact.
    const want = end - start < WIDEN ? Math.min(WIDEN, this.size - start) : end - start;
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bytesRead += got;
    const data = buf.subarray(0, got);
    if (want <= WIDEN) {
      this.cacheOff = start;
      this.cache = data;
    }
    return data.subarray(0, Math.min(got, end - start));
  }
}

/** A window [start, start+size) of another source. */
export class SliceByteSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly inner: ByteSource,
    private readonly start: number,
    size: number,
  ) {
    this.size = Math.max(0, Math.min(size, inner.size - start));
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    const o = Math.max(0, Math.min(offset, this.size));
    const len = Math.max(0, Math.min(length, this.size - o));
    return this.inner.read(this.start + o, len);
  }
}

/** Reads the whole of a (small) source into memory. Callers check the size against a limit first. */
export async function readAll(source: ByteSource): Promise<Uint8Array> {
  if (source instanceof BufferByteSource) return source.bytes;
  const out = new Uint8Array(source.size);
  let off = 0;
  const chunk = 8 * 1024 * 1024;
  while (off < source.size) {
    const part = await source.read(off, Math.min(chunk, source.size - off));
    if (part.length === 0) break;
    out.set(part, off);
    off += part.length;
  }
  return off === source.size ? out : out.subarray(0, off);
}

/** Reads exactly `length` bytes or returns what is there (shorter at end of source). */
export async function readRange(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  if (length <= 0 || offset >= source.size) return new Uint8Array(0);
  const first = await source.read(offset, length);
  if (first.length >= length || offset + first.length >= source.size) return first;
  const out = new Uint8Array(Math.min(length, source.size - offset));
  out.set(first, 0);
  let got = first.length;
  while (got < out.length) {
    const part = await source.read(offset + got, out.length - got);
    if (part.length === 0) break;
    out.set(part, got);
    got += part.length;
  }
  return out.subarray(0, got);
}
