// Tar archives (v7, ustar, GNU long names, pax extended headers): every regular member is scanned
// as a child; links and escaping paths are reported. A PyTorch legacy tar (members sys_info,
// pickle, storages, tensors) has its storages/tensors members read with PyTorch's layout.
import type { Analyzer, ByteSource, ScanHints } from '../../types.js';
import { readRange, SliceByteSource } from '../../byte-source.js';
import { decodeUtf8 } from '../pickle/text.js';
import { isTarHead } from '../magic.js';
import { searchGaps } from '../pickle/analyzer.js';
import './rules.js';

function octal(b: Uint8Array): number {
  if (b[0]! & 0x80) {
    // GNU base-256 encoding for large sizes.
    let n = 0;
    for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = decodeUtf8(b).replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return decodeUtf8(z >= 0 ? b.subarray(0, z) : b);
}

function checksumOk(h: Uint8Array): boolean {
  const stored = octal(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

/** v7 tar has no magic: accept a first header whose checksum is right and whose name is text. */
function isTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  if (isTarHead(head)) return checksumOk(head);
  return head[0] !== 0 && checksumOk(head) && head.subarray(0, 100).every((c) => c === 0 || (c >= 0x20 && c < 0x7f));
}

interface TarMember {
  name: string;
  type: string;
  size: number;
  dataStart: number;
  linkname: string;
}

async function readMembers(source: ByteSource, maxEntries: number, report: (m: string, off: number) => void): Promise<{ members: TarMember[]; truncated: boolean; end: number }> {
  const members: TarMember[] = [];
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  while (pos + 512 <= source.size) {
    if (members.length >= maxEntries) return { members, truncated: true, end: pos };
    const h = await readRange(source, pos, 512);
    if (h.every((c) => c === 0)) {
      pos += 512;
      break;
    }
    if (!checksumOk(h)) {
      report(`bad tar header checksum at offset ${pos}`, pos);
      break;
    }
    const type = String.fromCharCode(h[156] || 0x30);
    let size = octal(h.subarray(124, 136));
    const prefix = isTarHead(h) ? cstr(h.subarray(345, 500)) : '';
    let name = cstr(h.subarray(0, 100));
    if (prefix) name = `${prefix}/${name}`;
    const dataStart = pos + 512;
    if (type === 'L' || type === 'x' || type === 'g') {
      const body = await readRange(source, dataStart, Math.min(size, 1 << 20));
      if (type === 'L') longName = cstr(body);
      else if (type === 'x') {
        const text = decodeUtf8(body);
        for (const m of text.matchAll(/\d+ (path|size)=([^\n]*)\n/g)) {
          if (m[1] === 'path') paxPath = m[2];
          else paxSize = Number(m[2]);
        }
      }
    } else {
      if (paxSize !== undefined) size = paxSize;
      name = paxPath ?? longName ?? name;
      members.push({ name, type, size, dataStart, linkname: cstr(h.subarray(157, 257)) });
      longName = paxPath = undefined;
      paxSize = undefined;
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      report(`invalid member size at offset ${pos}`, pos);
      break;
    }
    if (dataStart + size > source.size) report(`member ${name} extends past the end of the archive`, pos);
    pos = dataStart + Math.ceil(size / 512) * 512;
  }
  if (pos < source.size && pos + 512 > source.size && !(await readRange(source, pos, source.size - pos)).every((c) => c === 0)) {
    report(`archive ends inside a header at offset ${pos}`, pos);
  }
  return { members, truncated: false, end: pos };
}

export const tarAnalyzer: Analyzer = {
  id: 'tar',
  format: 'tar',
  detect: (head) => isTar(head),
  async analyze(source, ctx) {
    const { members, truncated, end } = await readMembers(source, ctx.limits.maxArchiveEntries, (m, off) => ctx.report({ ruleId: 'RMP-ARCHIVE-005', message: m, location: { offset: off } }));
    if (truncated) ctx.report({ ruleId: 'RMP-SCAN-003', message: `more than ${ctx.limits.maxArchiveEntries} members; the rest were not scanned` });
    const names = members.map((m) => m.name.replace(/^\.\//, ''));
    const torch = ['pickle', 'storages', 'tensors'].every((n) => names.includes(n));
    if (torch) ctx.noteFormat?.('pytorch-legacy-tar');
    const seen = new Map<string, number>();
    for (const m of members) {
      const name = m.name.replace(/^\.\//, '');
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (name.startsWith('/') || name.split('/').includes('..')) ctx.report({ ruleId: 'RMP-ARCHIVE-006', message: `member name escapes the extraction folder: ${m.name}`, location: { record: m.name } });
      if (m.type === '1' || m.type === '2') {
        ctx.report({ ruleId: 'RMP-ARCHIVE-006', severity: m.linkname.startsWith('/') || m.linkname.includes('..') ? 'high' : 'medium', message: `member ${m.name} is a ${m.type === '2' ? 'symbolic' : 'hard'} link to ${m.linkname}`, location: { record: m.name } });
        continue;
      }
      if (m.type !== '0' && m.type !== '7' && m.type !== '\0') continue;
      const hints: ScanHints = {};
      if (torch && name === 'pickle') Object.assign(hints, { loader: 'torch', expectPickle: true });
      if (torch && name === 'storages') hints.layout = 'torch-legacy-storages';
      if (torch && name === 'tensors') hints.layout = 'torch-legacy-tensors';
      await ctx.scanChild(m.name, new SliceByteSource(source, m.dataStart, m.size), hints);
    }
    for (const [n, c] of seen) if (c > 1) ctx.report({ ruleId: 'RMP-ARCHIVE-001', message: `${c} members named ${n}`, location: { record: n } });
    // Header blocks, padding after each member and anything after the end blocks.
    void end;
    await searchGaps(source, ctx, members.map((m) => [m.dataStart, m.dataStart + m.size] as [number, number]));
  },
};
