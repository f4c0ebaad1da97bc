import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { gzipSync, deflateSync } from 'node:zlib';
import { scanBuffer } from '../../engine.js';
import { severityRank, type Finding, type Severity } from '../../../core/types.js';
import { callPickle, pb, torchStateDictPickle } from '../../testing/pickle-builder.js';
import { buildTorchZip, buildZip } from '../../testing/zip-builder.js';

function worst(findings: Finding[]): Severity {
  let w: Severity = 'info';
  for (const f of findings) if (severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}
const enc = new TextEncoder();
const evil = callPickle('os', 'system', 'id');
const stateDict = torchStateDictPickle([{ name: 'w', key: '0', shape: [2, 2] }, { name: 'b', key: '1', shape: [2] }]);
const floats = (n: number) => new Uint8Array(new Float32Array(Array.from({ length: n }, (_, i) => Math.sin(i))).buffer);

function python(script: string): Uint8Array | undefined {
  try {
    return new Uint8Array(execFileSync('python3', ['-c', script], { maxBuffer: 1 << 24, timeout: 30_000 }));
  } catch {
    return undefined;
  }
}

describe('zip and PyTorch archives', () => {
  it('benign PyTorch checkpoint: pytorch format, nothing at medium or above', async () => {
    const { findings, result } = await scanBuffer(buildTorchZip(stateDict, { '0': floats(4), '1': floats(2) }), 'model.pt');
    expect(result.formats).toEqual(expect.arrayContaining(['zip', 'pytorch', 'pickle']));
    expect(severityRank(worst(findings)), JSON.stringify(findings)).toBeLessThan(severityRank('medium'));
    expect(result.complete).toBe(true);
  });
  const cases: [string, () => Uint8Array, Severity, string?][] = [
    ['malicious data.pkl', () => buildTorchZip(evil, {}), 'critical'],
    ['pickle under a renamed entry (no .pkl)', () => buildZip([{ name: 'weights/notes.txt', data: evil }]), 'critical'],
    ['malicious pickle deflated', () => buildZip([{ name: 'a/data.pkl', data: evil, deflate: true }]), 'critical'],
    ['local header names a different file', () => buildZip([{ name: 'a/data.pkl', localName: 'a/other.pkl', data: stateDict }]), 'high', 'RMP-ARCHIVE-002'],
    ['duplicate names', () => buildZip([{ name: 'a/data.pkl', data: stateDict }, { name: 'a/data.pkl', data: evil }]), 'critical', 'RMP-ARCHIVE-001'],
    ['hidden local entry', () => buildZip([{ name: 'a/data.pkl', data: stateDict }, { name: 'a/x.pkl', data: evil, hidden: true }]), 'critical', 'RMP-ARCHIVE-007'],
    ['pickle prepended to a zip (polyglot)', () => buildZip([{ name: 'a/data.pkl', data: stateDict }], evil), 'critical', 'RMP-ARCHIVE-003'],
    ['encrypted entry is never clean', () => buildZip([{ name: 'a/data.pkl', data: stateDict, encrypted: true }]), 'high', 'RMP-SCAN-006'],
    ['tensor storage that is really a zip with a pickle', () => buildTorchZip(stateDict, { '0': buildZip([{ name: 'x.pkl', data: evil }]) }), 'critical'],
    ['npz with an object array', () => {
      const header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
      const pad = 64 - ((10 + header.length + 1) % 64);
      const npy = new Uint8Array([...enc.encode('\x93NUMPY').map((c, i) => (i === 0 ? 0x93 : c)), 1, 0, (header.length + pad + 1) & 0xff, 0, ...enc.encode(header + ' '.repeat(pad) + '\n'), ...evil]);
      npy[0] = 0x93;
      return buildZip([{ name: 'arr.npy', data: npy }]);
    }, 'critical'],
  ];
  for (const [name, make, sev, rule] of cases) {
    it(name, async () => {
      const { findings } = await scanBuffer(make(), 'x.zip');
      expect(severityRank(worst(findings)), JSON.stringify(findings.map((f) => [f.ruleId, f.severity, f.file, f.message]))).toBeGreaterThanOrEqual(severityRank(sev));
      if (rule) expect(findings.map((f) => f.ruleId)).toContain(rule);
    });
  }
  it('zip64 records, data descriptors, bzip2 and LZMA members written by Python zipfile', async () => {
    const out = python(
      [
        'import zipfile,io,sys',
        `evil=bytes(${JSON.stringify(Array.from(evil))})`,
        `sd=bytes(${JSON.stringify(Array.from(stateDict))})`,
        'class W(io.RawIOBase):',
        '  def __init__(s): s.b=bytearray()',
        '  def writable(s): return True',
        '  def write(s,d): s.b+=d; return len(d)',
        'w=W()',
        'with zipfile.ZipFile(w,"w",compression=zipfile.ZIP_DEFLATED) as z:',
        '  with z.open("archive/data.pkl","w",force_zip64=True) as f: f.write(sd)',
        '  with z.open("archive/extra.pkl","w",force_zip64=True) as f: f.write(evil)',
        '  z.writestr(zipfile.ZipInfo("archive/bz.pkl"), evil, compress_type=zipfile.ZIP_BZIP2)',
        '  z.writestr(zipfile.ZipInfo("archive/lz.pkl"), evil, compress_type=zipfile.ZIP_LZMA)',
        'sys.stdout.buffer.write(bytes(w.b))',
      ].join('\n'),
    );
    if (!out) return;
    const { findings, result } = await scanBuffer(out, 'z64.pt');
    expect(result.formats).toContain('pytorch');
    for (const m of ['extra', 'bz', 'lz']) expect(findings.some((f) => f.severity === 'critical' && f.file === `z64.pt!archive/${m}.pkl`), `${m}: ${JSON.stringify(findings)}`).toBe(true);
    expect(findings.some((f) => f.ruleId === 'RMP-SCAN-006' || f.ruleId === 'RMP-ARCHIVE-008')).toBe(false);
    expect(findings.some((f) => f.ruleId === 'RMP-ARCHIVE-002' || f.ruleId === 'RMP-ARCHIVE-005' || f.ruleId === 'RMP-ARCHIVE-007')).toBe(false);
  });
  it('paths inside archives use !', async () => {
    const { findings } = await scanBuffer(buildTorchZip(evil, {}), 'outer.pt');
    expect(findings.some((f) => f.file === 'outer.pt!archive/data.pkl')).toBe(true);
  });
  it('nested zips deeper than the limit are reported, not skipped silently', async () => {
    let z = buildZip([{ name: 'data.pkl', data: stateDict }]);
    for (let i = 0; i < 5; i++) z = buildZip([{ name: `l${i}.zip`, data: z }]);
    const { findings, result } = await scanBuffer(z, 'deep.zip', { limits: { maxDepth: 3 } as never });
    expect(findings.some((f) => f.ruleId === 'RMP-SCAN-003')).toBe(true);
    expect(result.complete).toBe(false);
  });
  it('zip bomb: decompression stops at the limit', async () => {
    const big = new Uint8Array(20 * 1024 * 1024);
    const { findings, result } = await scanBuffer(buildZip([{ name: 'x.bin', data: big, deflate: true }]), 'bomb.zip', { limits: { maxDecompressedBytes: 1024 * 1024 } as never });
    expect(findings.some((f) => f.ruleId === 'RMP-SCAN-003')).toBe(true);
    expect(result.complete).toBe(false);
  });
});

describe('compressed streams, numpy, joblib, legacy PyTorch', () => {
  it('gzip and zlib streams are decompressed and scanned', async () => {
    expect(worst((await scanBuffer(gzipSync(evil), 'm.pkl.gz')).findings)).toBe('critical');
    expect(worst((await scanBuffer(deflateSync(evil), 'm.joblib')).findings)).toBe('critical');
  });
  it('bzip2 stream (python bz2) is decompressed and scanned; xz is never clean', async () => {
    const out = python(`import bz2,lzma,sys\nd=sys.stdin.buffer.read() if False else ${JSON.stringify(Array.from(evil))}\nb=bytes(d)\nsys.stdout.buffer.write(len(bz2.compress(b)).to_bytes(4,'little')+bz2.compress(b)+lzma.compress(b))`);
    if (!out) return;
    const n = new DataView(out.buffer, out.byteOffset).getUint32(0, true);
    expect(worst((await scanBuffer(out.subarray(4, 4 + n), 'm.bz2')).findings)).toBe('critical');
    const xz = await scanBuffer(out.subarray(4 + n), 'm.xz');
    expect(severityRank(worst(xz.findings))).toBeGreaterThanOrEqual(severityRank('high'));
  });
  it('npy: numeric array is clean, object array pickle is analysed', async () => {
    const mk = (descr: string, shape: string, body: Uint8Array) => {
      const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
      const pad = 64 - ((10 + header.length + 1) % 64);
      const h = enc.encode(header + ' '.repeat(pad) + '\n');
      return new Uint8Array([0x93, ...enc.encode('NUMPY'), 1, 0, h.length & 0xff, h.length >> 8, ...h, ...body]);
    };
    const ok = await scanBuffer(mk('<f4', '(2, 3)', floats(6)), 'a.npy');
    expect(severityRank(worst(ok.findings))).toBeLessThan(severityRank('medium'));
    expect(ok.result.formats).toContain('numpy');
    expect(worst((await scanBuffer(mk('|O', '(1,)', evil), 'o.npy')).findings)).toBe('critical');
    const extra = await scanBuffer(mk('<f4', '(2,)', new Uint8Array([...floats(2), ...evil])), 'x.npy');
    expect(worst(extra.findings)).toBe('critical');
  });
  it('joblib: arrays after NumpyArrayWrapper are skipped; hidden opcodes in them are found', async () => {
    const wrapper = (shape: number[], arr: Uint8Array, aligned = true) => {
      const b = pb().proto(4).global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj().emptyDict().mark();
      b.str('subclass').global('numpy', 'ndarray').str('shape').mark();
      for (const d of shape) b.int(d);
      b.tuple().str('order').str('C').str('dtype').global('numpy', 'dtype').mark().str('f4').bool(false).bool(true).tuple().reduce();
      b.mark().int(3).str('<').none().none().none().int(-1 & 0xff).int(0xff).int(0).tuple().build();
      b.str('allow_mmap').bool(false);
      if (aligned) b.str('numpy_array_alignment_bytes').int(16);
      b.setitems().build();
      return (aligned ? b.raw(1, 0) : b).raw(arr).stop().bytesOut();
    };
    const benign = await scanBuffer(wrapper([4], floats(4)), 'm.joblib');
    expect(severityRank(worst(benign.findings)), JSON.stringify(benign.findings)).toBeLessThan(severityRank('medium'));
    // Older joblib streams have no alignment byte: under plain pickle.load the array bytes are opcodes.
    const hidden = evil.subarray(2, -1); // GLOBAL ... REDUCE (no STOP), 4-byte aligned below
    const padded = new Uint8Array(Math.ceil((hidden.length + 1) / 4) * 4).fill(0x30); // '0' = POP
    padded.set(hidden);
    const bad = await scanBuffer(wrapper([padded.length / 4], padded, false), 'm.joblib');
    expect(worst(bad.findings)).toBe('critical');
  });
  it('legacy PyTorch (non-zip): benign file is clean, malicious object pickle is critical', async () => {
    const magic = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    const proto = pb().proto(2).int(1001).stop().bytesOut();
    const sysInfo = pb().proto(2).emptyDict().stop().bytesOut();
    const keys = pb().proto(2).emptyList().mark().binunicode('0').appends().stop().bytesOut();
    const data = new Uint8Array([...new Uint8Array(new BigInt64Array([4n]).buffer), ...floats(4)]);
    const sd = torchStateDictPickle([{ name: 'w', key: '0', shape: [2, 2] }]);
    const file = new Uint8Array([...magic, ...proto, ...sysInfo, ...sd, ...keys, ...data]);
    const ok = await scanBuffer(file, 'old.pt');
    expect(ok.result.formats).toContain('pytorch-legacy');
    expect(severityRank(worst(ok.findings)), JSON.stringify(ok.findings)).toBeLessThan(severityRank('medium'));
    const bad = new Uint8Array([...magic, ...proto, ...sysInfo, ...evil, ...keys, ...data]);
    expect(worst((await scanBuffer(bad, 'old.pt')).findings)).toBe('critical');
    const trailing = new Uint8Array([...file, ...evil]);
    expect(worst((await scanBuffer(trailing, 'old.pt')).findings)).toBe('critical');
  });
  it('tar archives (python tarfile) are walked; PyTorch legacy tar members are read with their layout', async () => {
    const out = python(
      [
        'import tarfile,io,sys',
        `evil=bytes(${JSON.stringify(Array.from(evil))})`,
        'buf=io.BytesIO()',
        'with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:',
        '  for name,data in (("dir/" + "x"*120 + "/model.pkl", evil),):',
        '    ti=tarfile.TarInfo(name); ti.size=len(data); t.addfile(ti, io.BytesIO(data))',
        'sys.stdout.buffer.write(buf.getvalue())',
      ].join('\n'),
    );
    if (!out) return;
    const r = await scanBuffer(out, 'm.tar');
    expect(r.result.formats).toContain('tar');
    expect(worst(r.findings)).toBe('critical');
    expect(r.findings.some((f) => f.file.includes('x'.repeat(120)))).toBe(true);
  });
});

describe('PyTorch legacy tar', () => {
  it('storages and tensors members are read with their layout; a payload in them is found', async () => {
    const { buildTar } = await import('../../testing/tar-builder.js');
    const storageRecord = (extra: Uint8Array = new Uint8Array(0)) =>
      new Uint8Array([
        ...pb().proto(2).int(1).stop().bytesOut(),
        ...pb().proto(2).mark().str('0').str('cpu').global('torch', 'FloatStorage').tuple().stop().bytesOut(),
        4, 0, 0, 0, 0, 0, 0, 0, ...floats(4),
        ...pb().proto(2).emptyList().stop().bytesOut(),
        ...extra,
      ]);
    const tar = (storages: Uint8Array) =>
      buildTar([
        { name: 'sys_info', data: pb().proto(2).emptyDict().stop().bytesOut() },
        { name: 'pickle', data: torchStateDictPickle([{ name: 'w', key: '0', shape: [4] }]) },
        { name: 'storages', data: storages },
        { name: 'tensors', data: pb().proto(2).int(0).stop().bytesOut() },
      ]);
    const ok = await scanBuffer(tar(storageRecord()), 'old.tar');
    expect(ok.result.formats).toEqual(expect.arrayContaining(['tar', 'pytorch-legacy-tar']));
    expect(severityRank(worst(ok.findings)), JSON.stringify(ok.findings)).toBeLessThan(severityRank('medium'));
    const bad = await scanBuffer(tar(storageRecord(evil)), 'old.tar');
    expect(worst(bad.findings)).toBe('critical');
  });
});
