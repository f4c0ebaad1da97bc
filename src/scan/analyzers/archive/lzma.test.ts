import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { decodeLzmaAlone, decodeXz } from './lzma.js';
import { scanBuffer } from '../../engine.js';
import { callPickle } from '../../testing/pickle-builder.js';

// python3's lzma module (liblzma) is the reference encoder; samples are length-prefixed.
function samples(): { name: string; plain: Uint8Array; packed: Uint8Array; xz: boolean }[] | undefined {
  const script = [
    'import lzma,sys,random,struct',
    'r=random.Random(7)',
    'evil=bytes.fromhex(sys.argv[1])',
    'texts={',
    ' "random": bytes(r.getrandbits(8) for _ in range(50000)),',
    ' "text": (b"the quick brown fox jumps over the lazy dog %d\\n" * 3000) % tuple(range(3000)),',
    ' "mixed": b"".join(bytes(r.getrandbits(8) for _ in range(r.randint(1,40)))*r.randint(1,30) for _ in range(3000)),',
    ' "empty": b"",',
    ' "evil": b"\\x00"*1000+evil,',
    '}',
    'out=b""',
    'for name,data in texts.items():',
    '  for fmt,kw in (("xz",dict(format=lzma.FORMAT_XZ,preset=6)),("xz0",dict(format=lzma.FORMAT_XZ,preset=0,check=lzma.CHECK_NONE)),("xz9",dict(format=lzma.FORMAT_XZ,preset=9|lzma.PRESET_EXTREME,check=lzma.CHECK_SHA256)),("alone",dict(format=lzma.FORMAT_ALONE))):',
    '    c=lzma.compress(data,**kw)',
    '    if fmt=="xz": c=c+b"\\x00"*4+lzma.compress(b"second stream",format=lzma.FORMAT_XZ); data=data+b"second stream"',
    '    n=(name+":"+fmt).encode()',
    '    out+=struct.pack("<III",len(n),len(data),len(c))+n+data+c',
    'sys.stdout.buffer.write(out)',
  ].join('\n');
  let all: Uint8Array;
  try {
    all = new Uint8Array(execFileSync('python3', ['-c', script, Buffer.from(callPickle('os', 'system', 'id')).toString('hex')], { maxBuffer: 1 << 26, timeout: 60_000 }));
  } catch {
    return undefined;
  }
  const dv = new DataView(all.buffer, all.byteOffset, all.length);
  const out = [];
  let o = 0;
  while (o < all.length) {
    const [a, b, c] = [dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getUint32(o + 8, true)];
    o += 12;
    const name = Buffer.from(all.subarray(o, o + a)).toString();
    o += a;
    const plain = all.subarray(o, o + b);
    o += b;
    const packed = all.subarray(o, o + c);
    o += c;
    out.push({ name, plain, packed, xz: !name.endsWith(':alone') });
  }
  return out;
}

describe('lzma / xz decoder', () => {
  const all = samples();
  it('decodes what liblzma encodes, byte for byte', () => {
    if (!all) return;
    expect(all.length).toBe(20);
    for (const s of all) {
      const r = s.xz ? decodeXz(s.packed, 1 << 26) : decodeLzmaAlone(s.packed, 1 << 26);
      expect(r.error, s.name).toBeUndefined();
      expect(Buffer.from(r.data).equals(Buffer.from(s.plain)), s.name).toBe(true);
    }
  });
  it('stops at the cap and reports corrupt data without throwing', () => {
    if (!all) return;
    const text = all.find((s) => s.name === 'text:xz')!;
    const capped = decodeXz(text.packed, 1000);
    expect(capped.truncated).toBe(true);
    expect(capped.data.length).toBeLessThanOrEqual(1000);
    const broken = Uint8Array.from(text.packed);
    for (let i = 40; i < broken.length; i += 97) broken[i] = broken[i]! ^ 0x5a;
    const r = decodeXz(broken, 1 << 24);
    expect(r.error !== undefined || r.data.length > 0).toBe(true);
  });
  it('xz- and lzma-compressed malicious pickles are found', async () => {
    if (!all) return;
    for (const s of all.filter((x) => x.name.startsWith('evil:'))) {
      const { findings } = await scanBuffer(s.packed, 'model.joblib.xz');
      expect(findings.some((f) => f.severity === 'critical'), s.name).toBe(true);
    }
  });
});
