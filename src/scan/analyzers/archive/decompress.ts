// Bounded decompression into memory: raw deflate (zip), zlib, gzip (Node's zlib, streamed chunk by
// chunk from the source) and bzip2 (seek-bzip, pure JavaScript). Output beyond the per-stream limit
// is cut off: the caller scans what was produced and reports the limit.
import { createGunzip, createInflate, createInflateRaw, type Inflate } from 'node:zlib';
import type { AnalyzeContext, ByteSource } from '../../types.js';
import { readAll } from '../../byte-source.js';
import Bunzip from 'seek-bzip';

export interface Decompressed {
  data: Uint8Array;
  /** Output was cut at the limit. */
  truncated: boolean;
  /** The stream is corrupt or ended early (message). */
  error?: string;
}

const CHUNK = 1024 * 1024;

export async function inflateStream(
  kind: 'raw' | 'zlib' | 'gzip',
  source: ByteSource,
  start: number,
  length: number,
  ctx: AnalyzeContext,
): Promise<Decompressed> {
  const limit = ctx.limits.maxDecompressedBytes;
  const z: Inflate | ReturnType<typeof createGunzip> = kind === 'raw' ? createInflateRaw() : kind === 'zlib' ? createInflate() : createGunzip();
  const parts: Buffer[] = [];
  let total = 0;
  let truncated = false;
  let error: string | undefined;
  let ended = false;
  z.on('data', (d: Buffer) => {
    if (truncated) return;
    const room = limit - total;
    if (d.length > room) {
      parts.push(d.subarray(0, room));
      total += room;
      truncated = true;
      z.destroy();
      return;
    }
    parts.push(d);
    total += d.length;
  });
  const done = new Promise<void>((resolve) => {
    z.on('end', () => {
      ended = true;
      resolve();
    });
    z.on('close', () => resolve());
    z.on('error', (e: Error) => {
      error = e.message;
      resolve();
    });
  });
  let off = 0;
  try {
    while (off < length && !truncated && error === undefined) {
      if (ctx.signal.aborted) break;
      const chunk = await source.read(start + off, Math.min(CHUNK, length - off));
      if (chunk.length === 0) break;
      off += chunk.length;
      const before = total;
      await new Promise<void>((resolve) => {
        let settled = false;
        const fin = () => {
          if (settled) return;
          settled = true;
          z.off('close', fin);
          resolve();
        };
        z.once('close', fin);
        z.write(chunk, () => fin());
      });
      ctx.chargeDecompressed?.(total - before);
    }
    if (!truncated && error === undefined) z.end();
    else z.destroy();
    await done;
  } finally {
    z.destroy();
  }
  if (!ended && !truncated && error === undefined) error = 'compressed stream ended early';
  return { data: Buffer.concat(parts, total), truncated, error };
}

export async function bunzip(source: ByteSource, ctx: AnalyzeContext): Promise<Decompressed> {
  const limit = ctx.limits.maxDecompressedBytes;
  if (source.size > limit) return { data: new Uint8Array(0), truncated: true, error: 'compressed stream larger than the decompression limit' };
  const input = Buffer.from(await readAll(source));
  const out = Buffer.alloc(Math.min(limit, Math.max(1 << 16, input.length * 8)));
  let buf = out;
  let pos = 0;
  let truncated = false;
  const sink = {
    writeByte(b: number) {
      if (pos >= limit) {
        truncated = true;
        throw new Error('limit');
      }
      if (pos >= buf.length) {
        const bigger = Buffer.alloc(Math.min(limit, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      buf[pos++] = b;
    },
  };
  let error: string | undefined;
  try {
    Bunzip.decode(input, sink, true);
  } catch (e) {
    if (!truncated) error = e instanceof Error ? e.message : String(e);
  }
  ctx.chargeDecompressed?.(pos);
  return { data: buf.subarray(0, pos), truncated, error };
}
