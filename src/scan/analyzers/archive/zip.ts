// Zip archives (and everything built on them: PyTorch checkpoints, NumPy .npz, Keras v3): reads
// the directory with zip-reader.ts, reports its inconsistencies, and scans every member as a child.
// In a PyTorch archive (`<folder>/data.pkl` next to `<folder>/data/`), the .pkl members are
// scanned as PyTorch pickles and the tensor storages under data/ as raw payload: only their first
// bytes are checked for an embedded container, the tensors themselves are never read.
import type { Analyzer, AnalyzeContext, ByteSource, ScanHints } from '../../types.js';
import { BufferByteSource, readAll, SliceByteSource } from '../../byte-source.js';
import { readZipDirectory, type ZipIssue } from './zip-reader.js';
import { bunzip, inflateStream, type Decompressed } from './decompress.js';
import { decodeLzmaAlone } from './lzma.js';
import { isZipHead } from '../magic.js';
import { findEocd } from './zip-reader.js';
import './rules.js';
import { searchGaps } from '../pickle/analyzer.js';

const ISSUE_RULE: Record<ZipIssue['kind'], string> = {
  duplicate: 'RMP-ARCHIVE-001',
  mismatch: 'RMP-ARCHIVE-002',
  prefix: 'RMP-ARCHIVE-003',
  overlap: 'RMP-ARCHIVE-004',
  bounds: 'RMP-ARCHIVE-005',
  count: 'RMP-ARCHIVE-005',
  structure: 'RMP-ARCHIVE-005',
  traversal: 'RMP-ARCHIVE-006',
  hidden: 'RMP-ARCHIVE-007',
};

async function memberSource(source: ByteSource, ctx: AnalyzeContext, e: { name: string; method: number; csize: number; usize: number; dataStart: number }): Promise<ByteSource | undefined> {
  if (e.method === 0) return new SliceByteSource(source, e.dataStart, e.csize);
  if (e.method === 8) {
    const out = await inflateStream('raw', source, e.dataStart, e.csize, ctx);
    if (out.truncated) ctx.report({ ruleId: 'RMP-SCAN-003', message: `member ${e.name} decompresses to more than ${ctx.limits.maxDecompressedBytes} bytes; only the first part was scanned`, location: { record: e.name } });
    if (out.error) ctx.report({ ruleId: 'RMP-ARCHIVE-008', message: `member ${e.name}: ${out.error}`, location: { record: e.name } });
    else if (!out.truncated && out.data.length !== e.usize) ctx.report({ ruleId: 'RMP-ARCHIVE-008', message: `member ${e.name} decompresses to ${out.data.length} bytes, the directory says ${e.usize}`, location: { record: e.name } });
    return new BufferByteSource(out.data);
  }
  if (e.method === 12 || e.method === 14) {
    // bzip2 and LZMA members (Python's zipfile writes both).
    const packed = new SliceByteSource(source, e.dataStart, e.csize);
    let out: Decompressed;
    if (e.method === 12) out = await bunzip(packed, ctx);
    else {
      // Zip LZMA: 2-byte version, 2-byte properties size (5), properties, then LZMA data; rebuilt
      // as an lzma-alone header with the size from the directory.
      const raw = await readAll(packed);
      const propsLen = raw.length >= 4 ? raw[2]! | (raw[3]! << 8) : 0;
      if (propsLen !== 5 || raw.length < 9) out = { data: new Uint8Array(0), truncated: false, error: 'bad LZMA member header' };
      else {
        const alone = new Uint8Array(13 + raw.length - 9);
        alone.set(raw.subarray(4, 9), 0);
        let n = e.usize;
        for (let i = 0; i < 8; i++) {
          alone[5 + i] = n % 256;
          n = Math.floor(n / 256);
        }
        alone.set(raw.subarray(9), 13);
        out = decodeLzmaAlone(alone, ctx.limits.maxDecompressedBytes);
        ctx.chargeDecompressed?.(out.data.length);
      }
    }
    if (out.truncated) ctx.report({ ruleId: 'RMP-SCAN-003', message: `member ${e.name} decompresses to more than ${ctx.limits.maxDecompressedBytes} bytes; only the first part was scanned`, location: { record: e.name } });
    else if (out.error) ctx.report({ ruleId: 'RMP-ARCHIVE-008', message: `member ${e.name}: ${out.error}`, location: { record: e.name } });
    else if (out.data.length !== e.usize) ctx.report({ ruleId: 'RMP-ARCHIVE-008', message: `member ${e.name} decompresses to ${out.data.length} bytes, the directory says ${e.usize}`, location: { record: e.name } });
    return new BufferByteSource(out.data);
  }
  ctx.report({ ruleId: 'RMP-SCAN-006', message: `member ${e.name} uses compression method ${e.method}, which is not supported; not scanned`, location: { record: e.name } });
  return undefined;
}

export const zipAnalyzer: Analyzer = {
  id: 'zip',
  format: 'zip',
  async detect(head, source, _name, hints) {
    if (isZipHead(head)) return true;
    // Raw payload (tensor storages) is only checked by its first bytes.
    if (hints?.payload) return false;
    // A zip with data prepended: the end record is at the end of the file.
    return (await findEocd(source)) !== undefined;
  },
  async analyze(source, ctx) {
    const dir = await readZipDirectory(source, ctx.limits.maxArchiveEntries);
    if (!dir) {
      ctx.report({ ruleId: 'RMP-ARCHIVE-005', message: 'zip local header without an end-of-central-directory record (truncated archive?)' });
      return;
    }
    for (const issue of dir.issues) {
      const loc = issue.entry !== undefined ? { record: issue.entry, offset: issue.offset } : issue.offset !== undefined ? { offset: issue.offset } : undefined;
      ctx.report({ ruleId: ISSUE_RULE[issue.kind], message: issue.message, location: loc });
    }
    if (dir.truncatedAt !== undefined) ctx.report({ ruleId: 'RMP-SCAN-003', message: `more than ${dir.truncatedAt} members; the rest were not scanned` });
    if (dir.prefix > 0) await ctx.scanChild('<prefix>', new SliceByteSource(source, 0, dir.prefix));

    const names = dir.entries.map((e) => e.name);
    const torchRoots = new Set(names.filter((n) => /^(.*\/)?data\.pkl$/.test(n)).map((n) => n.slice(0, n.length - 'data.pkl'.length)));
    const isTorch = torchRoots.size > 0;
    if (isTorch) ctx.noteFormat?.('pytorch');
    for (const e of dir.entries) {
      if (ctx.signal.aborted) return;
      if (e.name.endsWith('/') && e.usize === 0) continue;
      if (e.encrypted) {
        ctx.report({ ruleId: 'RMP-SCAN-006', message: `member ${e.name} is encrypted; not scanned`, location: { record: e.name } });
        continue;
      }
      if (e.dataStart === undefined) continue;
      const hints: ScanHints = {};
      if (isTorch) {
        const root = [...torchRoots].find((r) => e.name.startsWith(r));
        if (e.name.endsWith('.pkl')) Object.assign(hints, { loader: 'torch', expectPickle: true });
        else if (root !== undefined && e.name.startsWith(`${root}data/`)) hints.payload = true;
      } else if (e.name.endsWith('.pkl')) hints.expectPickle = true;
      const child = await memberSource(source, ctx, { name: e.name, method: e.method, csize: e.csize, usize: e.usize, dataStart: e.dataStart });
      if (!child) continue;
      await ctx.scanChild(e.hidden ? `<hidden>/${e.name}` : e.name, child, hints);
    }
    // Gaps between members, the central directory and the archive comment: unzip tools ignore
    // them, other readers may not. Member data and the prefix were scanned above.
    const covered: [number, number][] = [[0, Math.max(0, dir.prefix)]];
    for (const e of dir.entries) if (e.dataStart !== undefined) covered.push([e.dataStart, e.dataStart + e.csize]);
    await searchGaps(source, ctx, covered);
  },
};

export function isTorchZipNames(names: string[]): boolean {
  return names.some((n) => /^(.*\/)?data\.pkl$/.test(n));
}
