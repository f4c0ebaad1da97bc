// Compressed streams: gzip, zlib (joblib's zlib compressor and its older "ZF" variant), bzip2,
// xz and lzma-alone. The stream is decompressed within the limits and the result scanned as a
// child. xz and lzma use the bounded decoder in lzma.ts (LZMA2 filter only; other xz filter chains
// are reported as not scanned, never as clean).
import type { Analyzer, AnalyzeContext, ByteSource } from '../../types.js';
import { BufferByteSource, readAll } from '../../byte-source.js';
import { decodeLzmaAlone, decodeXz } from './lzma.js';
import { searchEmbeddedPickles } from '../pickle/analyzer.js';
import { bunzip, inflateStream, type Decompressed } from './decompress.js';
import { isBzip2Head, isGzipHead, isLzmaAloneHead, isXzHead, isZlibHead, startsWith } from '../magic.js';
import { inflateSync, constants } from 'node:zlib';
import './rules.js';

async function scanDecompressed(out: Decompressed, what: string, ctx: AnalyzeContext): Promise<void> {
  if (out.truncated) ctx.report({ ruleId: 'RMP-SCAN-003', message: `${what} stream decompresses to more than ${ctx.limits.maxDecompressedBytes} bytes; only the first part was scanned` });
  if (out.error) ctx.report({ ruleId: 'RMP-ARCHIVE-008', message: `${what} stream: ${out.error}` });
  await ctx.scanChild(`<${what}>`, new BufferByteSource(out.data));
}

export const gzipAnalyzer: Analyzer = {
  id: 'gzip',
  format: 'gzip',
  detect: (head) => isGzipHead(head),
  async analyze(source, ctx) {
    await scanDecompressed(await inflateStream('gzip', source, 0, source.size, ctx), 'gunzip', ctx);
  },
};

/** A zlib header is only two bytes: confirm by inflating the start of the stream. */
function zlibConfirmed(head: Uint8Array, at: number): boolean {
  if (!isZlibHead(head.subarray(at))) return false;
  try {
    const out = inflateSync(head.subarray(at, at + 4096), { finishFlush: constants.Z_SYNC_FLUSH });
    return out.length > 0;
  } catch {
    return false;
  }
}

/** joblib < 0.10 wrote "ZF" + a 19-character hex length, then a zlib stream. */
const ZF_OFFSET = 21;

export const zlibAnalyzer: Analyzer = {
  id: 'zlib',
  format: 'zlib',
  detect: (head) => zlibConfirmed(head, 0) || (startsWith(head, [0x5a, 0x46]) && zlibConfirmed(head, ZF_OFFSET)),
  async analyze(source: ByteSource, ctx) {
    const head = await source.read(0, 64);
    const at = isZlibHead(head) ? 0 : ZF_OFFSET;
    await scanDecompressed(await inflateStream('zlib', source, at, source.size - at, ctx), 'zlib', ctx);
  },
};

export const bzip2Analyzer: Analyzer = {
  id: 'bzip2',
  format: 'bzip2',
  detect: (head) => isBzip2Head(head),
  async analyze(source, ctx) {
    await scanDecompressed(await bunzip(source, ctx), 'bunzip2', ctx);
  },
};

export const xzAnalyzer: Analyzer = {
  id: 'xz',
  format: 'xz',
  detect: (head) => isXzHead(head) || isLzmaAloneHead(head),
  async analyze(source, ctx) {
    const limit = ctx.limits.maxDecompressedBytes;
    if (source.size > limit) {
      ctx.report({ ruleId: 'RMP-SCAN-003', message: `xz/lzma stream of ${source.size} bytes is larger than the decompression limit; not scanned` });
      return;
    }
    const input = await readAll(source);
    const xz = isXzHead(input);
    const out = xz ? decodeXz(input, limit) : decodeLzmaAlone(input, limit);
    ctx.chargeDecompressed?.(out.data.length);
    if (out.error && /unsupported xz filter/.test(out.error)) {
      ctx.report({ ruleId: 'RMP-SCAN-006', message: `xz stream: ${out.error}; content after it not scanned` });
      if (out.data.length > 0) await ctx.scanChild('<unxz>', new BufferByteSource(out.data));
      return;
    }
    if (!xz && out.error && out.data.length === 0) {
      // The lzma-alone header is weak evidence: undecodable data is treated as unknown content.
      await searchEmbeddedPickles(source, ctx);
      return;
    }
    await scanDecompressed(out, xz ? 'unxz' : 'unlzma', ctx);
  },
};
