// A minimal zip writer for tests and benchmarks, with switches for the header tricks hostile
// archives use (names that differ between local and central headers, hidden entries, prepended
// data, encryption flags).
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { deflateRawSync, crc32 } from 'node:zlib';

export interface ZipMember {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Name written in the local header instead of `name`. */
  localName?: string;
  /** Leave the entry out of the central directory. */
  hidden?: boolean;
  encrypted?: boolean;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function buildZip(members: ZipMember[], prefix: Uint8Array = new Uint8Array(0)): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [prefix];
  let off = prefix.length;
  const central: number[] = [];
  let count = 0;
  for (const m of members) {
    const body = m.deflate ? deflateRawSync(m.data) : m.data;
    const crc = crc32(m.data) >>> 0;
    const lname = enc.encode(m.localName ?? m.name);
    const cname = enc.encode(m.name);
    const flags = (m.encrypted ? 1 : 0) | 0x800;
    const method = m.deflate ? 8 : 0;
    const local = Uint8Array.from([...u32(0x04034b50), ...u16(20), ...u16(flags), ...u16(method), 0, 0, 0, 0, ...u32(crc), ...u32(body.length), ...u32(m.data.length), ...u16(lname.length), ...u16(0), ...lname]);
    const lho = off - prefix.length; // offsets as a writer that did not know about the prefix
    chunks.push(local, body);
    off += local.length + body.length;
    if (m.hidden) continue;
    count++;
    central.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(flags), ...u16(method), 0, 0, 0, 0, ...u32(crc), ...u32(body.length), ...u32(m.data.length), ...u16(cname.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(lho), ...cname);
  }
  const cdOffset = off - prefix.length;
  chunks.push(Uint8Array.from(central));
  chunks.push(Uint8Array.from([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(count), ...u16(count), ...u32(central.length), ...u32(cdOffset), ...u16(0)]));
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** A PyTorch-style checkpoint: archive/data.pkl, archive/data/<key>, archive/version, byteorder. */
export function buildTorchZip(dataPkl: Uint8Array, storages: Record<string, Uint8Array>, folder = 'archive'): Uint8Array {
  const members: ZipMember[] = [{ name: `${folder}/data.pkl`, data: dataPkl }, { name: `${folder}/byteorder`, data: new TextEncoder().encode('little') }];
  for (const [k, v] of Object.entries(storages)) members.push({ name: `${folder}/data/${k}`, data: v });
  members.push({ name: `${folder}/version`, data: new TextEncoder().encode('3\n') }, { name: `${folder}/.data/serialization_id`, data: new TextEncoder().encode('1234567890\n') });
  return buildZip(members);
}

/**
 * Writes a PyTorch-format zip of `count` stored storages of `bytes` each to `path`, with the
 * storage data left as holes (a sparse file): large checkpoints for tests and benchmarks in no time.
 */
export function writeSparseTorchZip(path: string, count: number, bytes: number, dataPkl?: Uint8Array): void {
  const enc = new TextEncoder();
  const pkl = dataPkl ?? new Uint8Array([0x80, 0x02, 0x7d, 0x2e]);
  const members: { name: string; data: Uint8Array | null; size: number }[] = [{ name: 'archive/data.pkl', data: pkl, size: pkl.length }];
  for (let i = 0; i < count; i++) members.push({ name: `archive/data/${i}`, data: null, size: bytes });
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    const central: number[] = [];
    for (const m of members) {
      const name = enc.encode(m.name);
      const local = Uint8Array.from([...u32(0x04034b50), ...u16(20), ...u16(0x800), ...u16(0), 0, 0, 0, 0, ...u32(0), ...u32(m.size), ...u32(m.size), ...u16(name.length), ...u16(0), ...name]);
      writeSync(fd, local, 0, local.length, off);
      if (m.data) writeSync(fd, m.data, 0, m.data.length, off + local.length);
      central.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0x800), ...u16(0), 0, 0, 0, 0, ...u32(0), ...u32(m.size), ...u32(m.size), ...u16(name.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(off), ...name);
      off += local.length + m.size;
    }
    ftruncateSync(fd, off);
    const cd = Uint8Array.from(central);
    writeSync(fd, cd, 0, cd.length, off);
    const eocd = Uint8Array.from([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(members.length), ...u16(members.length), ...u32(cd.length), ...u32(off), ...u16(0)]);
    writeSync(fd, eocd, 0, eocd.length, off + cd.length);
  } finally {
    closeSync(fd);
  }
}
