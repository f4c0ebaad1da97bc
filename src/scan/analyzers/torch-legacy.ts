// PyTorch's legacy (pre-1.6, non-zip) formats, read the way torch/serialization.py reads them:
// - the non-zip file: pickles of the magic number, the protocol version, sys_info, the object
//   (tensors as persistent ids), the list of storage keys; then for each key an int64 element
//   count and the raw storage bytes;
// - the legacy tar members `storages` (count pickle; per storage an args pickle, int64 count and
//   raw bytes; a views pickle) and `tensors` (count pickle; per tensor an args pickle and fixed
//   binary fields).
// Every pickle is analysed; raw data is skipped by length; a layout that does not add up is
// reported and the remainder searched for embedded pickles.
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { readRange } from '../byte-source.js';
import { defineRules } from '../rules.js';
import { startsWith } from './magic.js';
import { scanPickleStream, searchEmbeddedPickles } from './pickle/analyzer.js';
import { storageElementSize } from './pickle/globals.js';
import type { PickleRun, Value } from './pickle/machine.js';

export const TORCH_RULES = defineRules([
  {
    id: 'RMP-TORCH-001',
    severity: 'high',
    title: 'PyTorch legacy layout does not add up',
    description: 'Raw storage data in a legacy PyTorch file does not match what its pickles declare (sizes, keys, trailing bytes). The rest of the file was searched for embedded pickles.',
    remediation: 'Re-save the model with a current PyTorch (zip format) from a trusted copy.',
    links: ['docs/rules.md'],
  },
] as const);

/** Pickle of the legacy magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1). */
const MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

function storagesOf(run: PickleRun | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of run?.persids ?? []) {
    const items = p.pid.t === 'tuple' ? p.pid.items : [];
    const [kind, type, key] = items;
    if (kind?.t === 'str' && kind.v === 'storage' && type?.t === 'global' && key?.t === 'str') {
      const size = storageElementSize(type.name);
      if (size !== undefined) out.set(key.v, size);
    }
  }
  return out;
}

function intOf(v: Value | undefined): number | undefined {
  return v?.t === 'int' ? v.v : undefined;
}

async function int64(source: ByteSource, off: number): Promise<number | undefined> {
  const b = await readRange(source, off, 8);
  if (b.length < 8) return undefined;
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
  return n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(n);
}

async function mismatch(source: ByteSource, ctx: AnalyzeContext, off: number, why: string): Promise<void> {
  ctx.report({ ruleId: 'RMP-TORCH-001', message: why, location: { offset: off } });
  if (off < source.size) await searchEmbeddedPickles(source, ctx, off);
}

export const torchLegacyAnalyzer: Analyzer = {
  id: 'torch-legacy',
  format: 'pytorch-legacy',
  detect: (head) => startsWith(head, MAGIC),
  claims: (hints) => hints.layout !== undefined,
  async analyze(source, ctx) {
    if (ctx.hints?.layout) return analyzeTarMember(source, ctx, ctx.hints.layout);
    const res = await scanPickleStream(source, ctx, { loader: 'torch', maxPickles: 5, trailing: 'ignore' });
    if (!res.ok) return; // the break is already a finding, and what follows was searched
    if (res.runs.filter((r) => r.ok).length < 5) return mismatch(source, ctx, res.end, 'fewer than the five pickles of a legacy PyTorch file');
    const storages = storagesOf(res.runs[3]);
    const keysVal = res.runs[4]!.result;
    const keys = keysVal?.t === 'list' && keysVal.n === keysVal.items.length ? keysVal.items : undefined;
    let pos = res.end;
    if (!keys) return mismatch(source, ctx, pos, 'storage key list is not a list of names');
    for (const k of keys) {
      const size = k.t === 'str' ? storages.get(k.v) : undefined;
      if (size === undefined) return mismatch(source, ctx, pos, `storage key ${k.t === 'str' ? k.v : '?'} is not declared by the object pickle`);
      const n = await int64(source, pos);
      if (n === undefined || pos + 8 + n * size > source.size) return mismatch(source, ctx, pos, 'storage data extends past the end of the file');
      pos += 8 + n * size;
    }
    if (pos !== source.size) return mismatch(source, ctx, pos, `${source.size - pos} bytes follow the last storage`);
  },
};

async function analyzeTarMember(source: ByteSource, ctx: AnalyzeContext, layout: 'torch-legacy-storages' | 'torch-legacy-tensors'): Promise<void> {
  let pos = 0;
  const one = async (): Promise<PickleRun | undefined> => {
    const r = await scanPickleStream(source, ctx, { start: pos, loader: 'torch', maxPickles: 1, trailing: 'ignore' });
    if (!r.ok || r.runs.length === 0) return undefined;
    pos = r.end;
    return r.runs[0];
  };
  const countRun = await one();
  const count = intOf(countRun?.result);
  if (count === undefined) return countRun ? mismatch(source, ctx, pos, 'count pickle is not an integer') : undefined;
  for (let i = 0; i < count; i++) {
    const args = await one();
    if (!args) return;
    const items = args.result?.t === 'tuple' ? args.result.items : [];
    if (layout === 'torch-legacy-storages') {
      const type = items[2];
      const size = type?.t === 'global' ? storageElementSize(type.name) : undefined;
      const n = await int64(source, pos);
      if (size === undefined || n === undefined || pos + 8 + n * size > source.size) return mismatch(source, ctx, pos, 'storage record does not match its declared type and size');
      pos += 8 + n * size;
    } else {
      const head = await readRange(source, pos, 8);
      if (head.length < 8) return mismatch(source, ctx, pos, 'tensor record truncated');
      const ndim = new DataView(head.buffer, head.byteOffset, 8).getInt32(0, true);
      if (ndim < 0 || ndim > 64) return mismatch(source, ctx, pos, 'tensor record has an impossible number of dimensions');
      pos += 8 + ndim * 16 + 8;
    }
  }
  if (layout === 'torch-legacy-storages') await one(); // storage views
  if (pos < source.size) await mismatch(source, ctx, pos, `${source.size - pos} bytes follow the last record`);
}
