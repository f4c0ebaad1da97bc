// Exact-length readers over a file handle or an async iterable, so the envelope code can ask for
// "n bytes, or fewer only at end of input" whatever the source. The file reader double-buffers:
// a block returned with `reuse` stays valid until the next-but-one reuse read, which lets the
// caller encrypt one block while the next is being read, without allocating fresh memory.
import type { FileHandle } from 'node:fs/promises';

export interface ByteReader {
  /** Up to n bytes; fewer only at end of input. With `reuse`, see the module comment. */
  read(n: number, reuse?: boolean): Promise<Buffer>;
}

export class FileByteReader implements ByteReader {
  private position: number;
  private readonly ring: (Buffer | null)[] = [null, null];
  private turn = 0;

  constructor(
    private readonly fh: FileHandle,
    start = 0,
  ) {
    this.position = start;
  }

  get offset(): number {
    return this.position;
  }

  async read(n: number, reuse = false): Promise<Buffer> {
    let buf: Buffer;
    if (reuse) {
      const slot = this.turn;
      this.turn ^= 1;
      const cur = this.ring[slot];
      buf = cur && cur.length >= n ? cur : Buffer.allocUnsafe(n);
      this.ring[slot] = buf;
    } else {
      buf = Buffer.allocUnsafe(n);
    }
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, this.position);
      if (bytesRead === 0) break;
      got += bytesRead;
      this.position += bytesRead;
    }
    return buf.subarray(0, got);
  }
}

/** Reads from any async iterable of byte chunks (a Node Readable is one), pulling only on demand. */
/** Anything that yields byte chunks: a Node Readable, an async generator, an array of Buffers. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export class IterableByteReader implements ByteReader {
  private readonly it: AsyncIterator<Uint8Array | string>;
  private queue: Buffer[] = [];
  private queued = 0;
  private done = false;

  constructor(source: ByteSource) {
    if (Symbol.asyncIterator in source) this.it = source[Symbol.asyncIterator]();
    else {
      const sync = source[Symbol.iterator]();
      this.it = {
        next: async () => sync.next(),
        return: async () => sync.return?.() ?? { done: true, value: undefined },
      };
    }
  }

  async read(n: number): Promise<Buffer> {
    while (this.queued < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      if (chunk.length === 0) continue;
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    const want = Math.min(n, this.queued);
    const first = this.queue[0];
    let out: Buffer;
    if (first && first.length >= want) {
      // Common case for aligned sources: no copy.
      out = first.subarray(0, want);
      if (first.length === want) this.queue.shift();
      else this.queue[0] = first.subarray(want);
    } else {
      out = Buffer.allocUnsafe(want);
      let o = 0;
      while (o < want) {
        const head = this.queue[0]!;
        const k = Math.min(head.length, want - o);
        head.copy(out, o, 0, k);
        o += k;
        if (k === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(k);
      }
    }
    this.queued -= want;
    return out;
  }

  /** Stops the source early (e.g. after an error), letting a Readable release its resources. */
  async cancel(): Promise<void> {
    if (!this.done && this.it.return) {
      this.done = true;
      await this.it.return();
    }
  }
}
