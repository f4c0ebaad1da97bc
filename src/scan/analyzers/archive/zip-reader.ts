// A zip reader written for hostile input: it parses the end-of-central-directory record (and its
// zip64 form), the central directory and every local header, and reports where they disagree —
// the disagreements different unzip implementations resolve differently, which is how payloads
// are hidden from scanners: names or sizes that differ between local and central headers,
// duplicate names, overlapping entries, data prepended to the archive, local entries the central
// directory does not list, encrypted entries. Only headers are read; member data is left to
// whoever scans the member.
import type { ByteSource } from '../../types.js';
import { readRange } from '../../byte-source.js';
import { decodeLatin1, decodeUtf8 } from '../pickle/text.js';

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  /** Offset of the local header as stored in the central directory (before the prefix shift). */
  storedOffset: number;
  /** Absolute offset of the local header. */
  localOffset: number;
  /** Absolute offset of the member data (after the local header), when the local header is valid. */
  dataStart?: number;
  encrypted: boolean;
  /** Found by walking local headers; absent from the central directory. */
  hidden?: boolean;
}

export interface ZipIssue {
  kind: 'duplicate' | 'mismatch' | 'overlap' | 'prefix' | 'hidden' | 'bounds' | 'count' | 'traversal' | 'structure';
  message: string;
  offset?: number;
  entry?: string;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  issues: ZipIssue[];
  /** Bytes before the first local header the offsets point at (self-extractors, polyglots). */
  prefix: number;
  zip64: boolean;
  /** More entries than the limit; only the first `entries.length` were read. */
  truncatedAt?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOC64 = 0x07064b50;

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
function u64(d: DataView, o: number): number {
  return Number(d.getBigUint64(o, true));
}

/** Finds the last plausible end-of-central-directory record; -1 when there is none. */
export async function findEocd(source: ByteSource): Promise<{ offset: number; rec: Uint8Array } | undefined> {
  const tailLen = Math.min(source.size, 65535 + 22);
  const tailStart = source.size - tailLen;
  const tail = await readRange(source, tailStart, tailLen);
  const d = dv(tail);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (d.getUint32(i, true) !== SIG_EOCD) continue;
    const commentLen = d.getUint16(i + 20, true);
    if (i + 22 + commentLen > tail.length) continue;
    return { offset: tailStart + i, rec: tail.subarray(i, i + 22) };
  }
  return undefined;
}

function nameOf(bytes: Uint8Array, flags: number): string {
  return flags & 0x800 ? decodeUtf8(bytes) : decodeLatin1(bytes);
}

export async function readZipDirectory(source: ByteSource, maxEntries: number): Promise<ZipDirectory | undefined> {
  const eocd = await findEocd(source);
  if (!eocd) return undefined;
  const issues: ZipIssue[] = [];
  const e = dv(eocd.rec);
  let total = e.getUint16(10, true);
  let cdSize = e.getUint32(12, true);
  let cdOffset = e.getUint32(16, true);
  let endOfCd = eocd.offset;
  let zip64 = false;
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocd.offset >= 20) {
      const loc = await readRange(source, eocd.offset - 20, 20);
      const l = dv(loc);
      if (loc.length === 20 && l.getUint32(0, true) === SIG_LOC64) {
        const off64 = u64(l, 8);
        const rec = await readRange(source, off64, 56);
        const r = dv(rec);
        if (rec.length === 56 && r.getUint32(0, true) === SIG_EOCD64) {
          zip64 = true;
          total = u64(r, 32);
          cdSize = u64(r, 40);
          cdOffset = u64(r, 48);
          endOfCd = off64;
        } else issues.push({ kind: 'structure', message: 'zip64 locator points at no zip64 end record', offset: eocd.offset - 20 });
      }
    }
  }
  // Where the central directory really is, from the end record's position; the difference from the
  // stored offset is data prepended to the archive (Python's zipfile accepts it the same way).
  const actualCd = endOfCd - cdSize;
  if (actualCd < 0) {
    issues.push({ kind: 'structure', message: 'central directory size larger than the file', offset: eocd.offset });
    return { entries: [], issues, prefix: 0, zip64 };
  }
  const prefix = actualCd - cdOffset;
  if (prefix !== 0) issues.push({ kind: 'prefix', message: `${prefix} bytes ${prefix > 0 ? 'precede' : 'are missing before'} the archive`, offset: 0 });
  const entries: ZipEntry[] = [];
  let truncatedAt: number | undefined;
  const cd = await readRange(source, actualCd, cdSize);
  const c = dv(cd);
  let p = 0;
  while (p + 46 <= cd.length && c.getUint32(p, true) === SIG_CENTRAL) {
    if (entries.length >= maxEntries) {
      truncatedAt = entries.length;
      break;
    }
    const flags = c.getUint16(p + 8, true);
    const method = c.getUint16(p + 10, true);
    const crc = c.getUint32(p + 16, true);
    let csize = c.getUint32(p + 20, true);
    let usize = c.getUint32(p + 24, true);
    const n = c.getUint16(p + 28, true);
    const x = c.getUint16(p + 30, true);
    const k = c.getUint16(p + 32, true);
    let lho = c.getUint32(p + 42, true);
    const name = nameOf(cd.subarray(p + 46, p + 46 + n), flags);
    // zip64 extra field: the 64-bit values of the fields stored as 0xffffffff, in order.
    let q = p + 46 + n;
    const xend = Math.min(cd.length, q + x);
    while (q + 4 <= xend) {
      const id = c.getUint16(q, true);
      const len = c.getUint16(q + 2, true);
      if (id === 0x0001) {
        let r = q + 4;
        if (usize === 0xffffffff && r + 8 <= q + 4 + len) {
          usize = u64(c, r);
          r += 8;
        }
        if (csize === 0xffffffff && r + 8 <= q + 4 + len) {
          csize = u64(c, r);
          r += 8;
        }
        if (lho === 0xffffffff && r + 8 <= q + 4 + len) lho = u64(c, r);
        zip64 = true;
      }
      q += 4 + len;
    }
    entries.push({ name, flags, method, crc, csize, usize, storedOffset: lho, localOffset: lho + prefix, encrypted: (flags & 1) !== 0 });
    p += 46 + n + x + k;
  }
  if (truncatedAt === undefined && entries.length !== total) {
    issues.push({ kind: 'count', message: `end record announces ${total} entries, central directory holds ${entries.length}`, offset: eocd.offset });
  }

  // Local headers: compare with the central directory.
  const names = new Map<string, number>();
  for (const en of entries) {
    const norm = en.name.replace(/\\/g, '/');
    names.set(norm, (names.get(norm) ?? 0) + 1);
    if (norm.startsWith('/') || /^[A-Za-z]:/.test(norm) || norm.split('/').includes('..')) {
      issues.push({ kind: 'traversal', message: `entry name escapes the extraction folder: ${en.name}`, entry: en.name });
    }
    const lh = await readRange(source, en.localOffset, 30);
    const l = dv(lh);
    if (lh.length < 30 || l.getUint32(0, true) !== SIG_LOCAL) {
      issues.push({ kind: 'bounds', message: `no local header at offset ${en.localOffset} for ${en.name}`, entry: en.name, offset: en.localOffset });
      continue;
    }
    const lflags = l.getUint16(6, true);
    const lmethod = l.getUint16(8, true);
    const lcrc = l.getUint32(14, true);
    const lcsize = l.getUint32(18, true);
    const lusize = l.getUint32(22, true);
    const n = l.getUint16(26, true);
    const x = l.getUint16(28, true);
    const lname = nameOf(await readRange(source, en.localOffset + 30, n), lflags);
    en.dataStart = en.localOffset + 30 + n + x;
    const diffs: string[] = [];
    if (lname !== en.name) diffs.push(`name "${lname}"`);
    if (lmethod !== en.method) diffs.push(`method ${lmethod} vs ${en.method}`);
    if ((lflags & 1) !== (en.flags & 1)) diffs.push('encryption flag');
    if (!(lflags & 8)) {
      if (lcrc !== en.crc) diffs.push('crc');
      if (lcsize !== 0xffffffff && lcsize !== en.csize) diffs.push(`compressed size ${lcsize} vs ${en.csize}`);
      if (lusize !== 0xffffffff && lusize !== en.usize) diffs.push(`size ${lusize} vs ${en.usize}`);
    }
    if (diffs.length) issues.push({ kind: 'mismatch', message: `local header of ${en.name} differs from the central directory: ${diffs.join(', ')}`, entry: en.name, offset: en.localOffset });
    if (en.dataStart + en.csize > source.size) issues.push({ kind: 'bounds', message: `data of ${en.name} extends past the end of the file`, entry: en.name, offset: en.localOffset });
  }
  for (const [n, count] of names) if (count > 1) issues.push({ kind: 'duplicate', message: `${count} entries named ${n}`, entry: n });

  // Overlapping entries (the same bytes read as several members: zip bombs, ambiguous content).
  const spans = entries.filter((x) => x.dataStart !== undefined).map((x) => ({ a: x.localOffset, b: x.dataStart! + x.csize, name: x.name })).sort((s, t) => s.a - t.a);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.a < spans[i - 1]!.b) issues.push({ kind: 'overlap', message: `entries ${spans[i - 1]!.name} and ${spans[i]!.name} overlap`, entry: spans[i]!.name, offset: spans[i]!.a });
  }

  // Walk local headers from the start: entries the central directory does not list are what
  // streaming unzippers see and central-directory readers do not.
  const known = new Map(entries.map((x) => [x.localOffset, x]));
  let pos = Math.max(0, prefix);
  for (let steps = 0; steps < maxEntries && pos + 30 <= actualCd; steps++) {
    const lh = await readRange(source, pos, 30);
    const l = dv(lh);
    if (lh.length < 30 || l.getUint32(0, true) !== SIG_LOCAL) break;
    const lflags = l.getUint16(6, true);
    const n = l.getUint16(26, true);
    const x = l.getUint16(28, true);
    const entry = known.get(pos);
    let csize = l.getUint32(18, true);
    if (entry) csize = entry.csize;
    else {
      if (lflags & 8 || csize === 0xffffffff) break; // size unknown without decompressing
      const name = nameOf(await readRange(source, pos + 30, n), lflags);
      const hidden: ZipEntry = {
        name,
        flags: lflags,
        method: l.getUint16(8, true),
        crc: l.getUint32(14, true),
        csize,
        usize: l.getUint32(22, true),
        storedOffset: pos,
        localOffset: pos,
        dataStart: pos + 30 + n + x,
        encrypted: (lflags & 1) !== 0,
        hidden: true,
      };
      entries.push(hidden);
      issues.push({ kind: 'hidden', message: `local entry ${name} at offset ${pos} is not in the central directory`, entry: name, offset: pos });
    }
    let next = pos + 30 + n + x + csize;
    if (lflags & 8) {
      // Data descriptor: optional signature, crc, sizes (zip64: 8-byte sizes).
      const dd = await readRange(source, next, 4);
      next += dd.length === 4 && dv(dd).getUint32(0, true) === 0x08074b50 ? 16 : 12;
      if (zip64) next += 8;
    }
    if (next <= pos) break;
    pos = next;
  }
  return { entries, issues, prefix, zip64, truncatedAt };
}
