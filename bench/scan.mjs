// Benchmark of `rampart scan` (run after `npm run build`): `node bench/scan.mjs [sizeGiB]`.
// 1. A PyTorch-format checkpoint of ~2 GiB (zip: archive/data.pkl + stored tensor storages),
//    written sparse on the temp disk, scanned with the engine; compared with `cat FILE > /dev/null`.
// 2. 1,000 small pickles (state dicts) in one directory.
// Prints a JSON line with MB/s, files/s and the bytes the scanner actually read. Temp files are
// removed at the end.
import { mkdtempSync, openSync, writeSync, closeSync, ftruncateSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { scanPaths } from '../dist/scan/engine.js';

const sizeGiB = Number(process.argv[2] ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));

function u16(n) { return [n & 0xff, (n >>> 8) & 0xff]; }
function u32(n) { return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]; }
const enc = new TextEncoder();

/** data.pkl as torch.save writes it (protocol 2): OrderedDict of _rebuild_tensor_v2 with storage persistent ids. */
function torchStateDictPickle(tensors) {
  const b = [];
  const raw = (...xs) => { for (const x of xs) if (typeof x === 'number') b.push(x); else if (typeof x === 'string') b.push(...enc.encode(x)); else b.push(...x); };
  const uni = (s) => { const e = enc.encode(s); raw('X', u32(e.length), e); };
  const int = (n) => (n < 256 ? raw('K', n) : n < 65536 ? raw('M', u16(n)) : raw('J', u32(n)));
  raw(0x80, 2, 'ccollections\nOrderedDict\n', ')R(');
  for (const t of tensors) {
    uni(t.name);
    raw('ctorch._utils\n_rebuild_tensor_v2\n(('); uni('storage'); raw('ctorch\nFloatStorage\n'); uni(t.key); uni('cpu');
    int(t.shape.reduce((a, c) => a * c, 1)); raw('tQ'); int(0); raw('(');
    for (const d of t.shape) int(d);
    raw('t('); int(1); raw('t', 0x89, 'ccollections\nOrderedDict\n)RtR');
  }
  raw('u.');
  return Uint8Array.from(b);
}

/** Stored-only zip in memory. */
function buildZip(members) {
  const parts = [];
  const central = [];
  let off = 0;
  for (const m of members) {
    const name = enc.encode(m.name);
    const local = Uint8Array.from([...u32(0x04034b50), ...u16(20), ...u16(0x800), ...u16(0), 0, 0, 0, 0, ...u32(0), ...u32(m.data.length), ...u32(m.data.length), ...u16(name.length), ...u16(0), ...name]);
    central.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0x800), ...u16(0), 0, 0, 0, 0, ...u32(0), ...u32(m.data.length), ...u32(m.data.length), ...u16(name.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(off), ...name);
    parts.push(local, m.data);
    off += local.length + m.data.length;
  }
  parts.push(Uint8Array.from(central), Uint8Array.from([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(members.length), ...u16(members.length), ...u32(central.length), ...u32(off), ...u16(0)]));
  return Buffer.concat(parts);
}

/** Writes a stored-only zip whose big members are holes (sparse), headers written for real. */
function writeSparseTorchZip(path, tensorCount, tensorBytes) {
  const tensors = [];
  for (let i = 0; i < tensorCount; i++) tensors.push({ name: `layer${i}.weight`, key: String(i), shape: [tensorBytes / 4] });
  const pkl = torchStateDictPickle(tensors);
  const members = [{ name: 'archive/data.pkl', data: pkl, size: pkl.length }];
  for (const t of tensors) members.push({ name: `archive/data/${t.key}`, data: null, size: tensorBytes });
  members.push({ name: 'archive/version', data: enc.encode('3\n'), size: 2 });
  const fd = openSync(path, 'w');
  let off = 0;
  const central = [];
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
  closeSync(fd);
}

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return Promise.resolve(r).then((v) => ({ v, s: Number(process.hrtime.bigint() - t0) / 1e9 }));
}

try {
  const big = join(dir, 'checkpoint.pt');
  const tensorCount = 256;
  const tensorBytes = Math.floor((sizeGiB * 1024 ** 3) / tensorCount / 4) * 4;
  writeSparseTorchZip(big, tensorCount, tensorBytes);
  const size = statSync(big).size;
  const cat = await timeIt(() => execSync(`cat '${big}' > /dev/null`));
  const stats = { bytesRead: 0 };
  const scan = await timeIt(() => scanPaths([big], { jobs: 1, stats }));
  const bad = scan.v.findings.filter((f) => ['medium', 'high', 'critical'].includes(f.severity));
  if (bad.length) throw new Error(`benchmark checkpoint has findings: ${JSON.stringify(bad.slice(0, 3))}`);
  rmSync(big);

  const small = join(dir, 'small');
  mkdirSync(small);
  for (let i = 0; i < 1000; i++) {
    const pkl = torchStateDictPickle([{ name: `w${i}`, key: '0', shape: [16, 16] }, { name: `b${i}`, key: '1', shape: [16] }]);
    writeFileSync(join(small, `m${i}.pkl`), i % 2 ? pkl : buildZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: new Uint8Array(1024) }]));
  }
  const many = await timeIt(() => scanPaths([small], {}));
  const MB = 1024 * 1024;
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      cpus: cpus().length,
      checkpoint: { bytes: size, scanSeconds: +scan.s.toFixed(3), scanMBps: Math.round(size / MB / scan.s), bytesReadByScanner: stats.bytesRead, catSeconds: +cat.s.toFixed(3), catMBps: Math.round(size / MB / cat.s) },
      smallFiles: { files: many.v.files.length, seconds: +many.s.toFixed(3), filesPerSecond: Math.round(many.v.files.length / many.s) },
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
