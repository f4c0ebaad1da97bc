// Sequential reader over a ByteSource with a sliding in-memory window. The pickle machine checks
// `has(n)` synchronously on its hot path and only awaits `fill(n)` when the window runs dry, so
// large pickles stream in fixed-size chunks and skipped regions (array payloads) are never read.
import type { ByteSource } from '../../types.js';

const CHUNK = 1024 * 1024;

export class StreamReader {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  /** Read size, doubling up to CHUNK: probes of short candidate pickles read little. */
  private chunk = 4096;
  /** Absolute position of the next byte to read. */
  pos: number;

  constructor(
    private readonly source: ByteSource,
    start: number,
    /** Absolute end (exclusive). */
    readonly end: number,
  ) {
    this.pos = start;
    this.bufStart = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** True when `n` bytes from pos are in the window. */
  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Loads at least `n` bytes from pos into the window; false if the source ends first. */
  async fill(n: number): Promise<boolean> {
    if (this.pos + n > this.end) {
      // Load what there is, so callers can still parse up to the end.
      n = this.end - this.pos;
      if (n <= 0) return false;
      await this.load(n);
      return false;
    }
    await this.load(n);
    return this.has(n);
  }

  private async load(n: number): Promise<void> {
    if (this.has(n)) return;
    const want = Math.min(this.end - this.pos, Math.max(n, this.chunk));
    this.chunk = Math.min(CHUNK, this.chunk * 2);
    const keepFrom = this.pos - this.bufStart;
    const kept = keepFrom >= 0 && keepFrom < this.buf.length ? this.buf.subarray(keepFrom) : new Uint8Array(0);
    const next = new Uint8Array(want);
    next.set(kept.subarray(0, Math.min(kept.length, want)), 0);
    let got = Math.min(kept.length, want);
    while (got < want) {
      const part = await this.source.read(this.pos + got, want - got);
      if (part.length === 0) break;
      next.set(part, got);
      got += part.length;
    }
    this.buf = next.subarray(0, got);
    this.bufStart = this.pos;
  }

  /** Byte at pos + i (the caller has checked `has`). */
  peek(i = 0): number {
    return this.buf[this.pos - this.bufStart + i]!;
  }

  u8(): number {
    return this.buf[this.pos++ - this.bufStart]!;
  }

  take(n: number): Uint8Array {
    const s = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(s, s + n);
  }

  /** Index (relative to pos) of the next \n within `max` bytes, loading more as needed; -1 if none. */
  async findNewline(max: number): Promise<number> {
    let scanned = 0;
    for (;;) {
      const s = this.pos - this.bufStart;
      const avail = Math.min(this.buf.length - s, max);
      for (let i = scanned; i < avail; i++) if (this.buf[s + i] === 0x0a) return i;
      scanned = avail;
      if (avail >= max || this.pos + avail >= this.end) return -1;
      await this.load(Math.min(max, avail + this.chunk));
      if (this.buf.length - (this.pos - this.bufStart) <= avail) return -1;
    }
  }

  skip(n: number): void {
    this.pos += n;
  }
}
