// Fuzz-style test of the scanner's own parsers (pickle machine, zip, tar, npy, compressed
// streams, PyTorch legacy): seeded mutations of benign and malicious samples must never crash or
// hang the scan, and a sample that still holds a dangerous GLOBAL is never reported clean.
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { scanBuffer } from './engine.js';
import { severityRank } from '../core/types.js';
import { pb, torchStateDictPickle } from './testing/pickle-builder.js';
import { buildTorchZip, buildZip } from './testing/zip-builder.js';
import { buildTar } from './testing/tar-builder.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
const MARKER = enc.encode('cposix\nsystem\n');
const evil0 = enc.encode("cposix\nsystem\n(S'id'\ntR.");
const evil2 = pb().proto(2).raw(MARKER).mark().binunicode('id').tuple().reduce().stop().bytesOut();
const sd = torchStateDictPickle([{ name: 'w', key: '0', shape: [2, 2] }]);
const npyHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
const npy = new Uint8Array([0x93, ...enc.encode('NUMPY'), 1, 0, npyHeader.length + 1, 0, ...enc.encode(`${npyHeader}\n`), ...new Uint8Array(16)]);
const samples: Uint8Array[] = [
  evil0,
  evil2,
  sd,
  buildTorchZip(sd, { '0': new Uint8Array(16) }),
  buildTorchZip(evil2, {}),
  buildZip([{ name: 'a.npy', data: npy }, { name: 'x/data.pkl', data: evil0, deflate: true }]),
  npy,
  gzipSync(evil2),
  buildTar([{ name: 'a/model.pkl', data: evil0 }, { name: 'a/x.npy', data: npy }]),
  buildTar([
    { name: 'sys_info', data: pb().proto(2).emptyDict().stop().bytesOut() },
    { name: 'pickle', data: sd },
    { name: 'storages', data: new Uint8Array([...pb().proto(2).int(1).stop().bytesOut(), ...pb().proto(2).mark().str('0').str('cpu').global('torch', 'FloatStorage').tuple().stop().bytesOut(), 4, 0, 0, 0, 0, 0, 0, 0, ...new Uint8Array(16), ...pb().proto(2).emptyList().stop().bytesOut()]) },
    { name: 'tensors', data: pb().proto(2).int(0).stop().bytesOut() },
  ]),
  new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, ...evil2]),
];

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = Uint8Array.from(src);
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(rnd() * Math.max(1, b.length));
    const op = Math.floor(rnd() * 5);
    if (op === 0 && b.length > 0) b[pos] = Math.floor(rnd() * 256);
    else if (op === 1) b = b.subarray(0, pos);
    else if (op === 2) {
      const ins = Uint8Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256));
      b = new Uint8Array([...b.subarray(0, pos), ...ins, ...b.subarray(pos)]);
    } else if (op === 3) b = new Uint8Array([...b.subarray(0, pos), ...b.subarray(Math.min(b.length, pos + 1 + Math.floor(rnd() * 8)))]);
    else b = new Uint8Array([...b.subarray(0, pos), ...b.subarray(pos, pos + 16), ...b.subarray(pos)]);
  }
  return b;
}

describe('scanner fuzzing', () => {
  it('mutated samples: no crash, no hang, dangerous globals never clean', async () => {
    const rnd = prng(20261128);
    const started = Date.now();
    let iterations = 0;
    const limits = { timeoutMs: 5000, maxDecompressedBytes: 4 * 1024 * 1024, maxPickleOps: 200_000 } as never;
    while (iterations < 3000 && Date.now() - started < 40_000) {
      const sample = samples[Math.floor(rnd() * samples.length)]!;
      const bytes = mutate(sample, rnd);
      const t0 = Date.now();
      const { findings, result } = await scanBuffer(bytes, `fuzz-${iterations}.bin`, { limits });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(result.file).toBe(`fuzz-${iterations}.bin`);
      for (const f of findings) expect(f.ruleId, `${f.message} ${Buffer.from(bytes).toString('hex').slice(0, 400)}`).not.toBe('RMP-SCAN-004'); // no analyzer crashed
      if (contains(bytes, MARKER)) {
        const worst = Math.max(...findings.map((f) => severityRank(f.severity)), -1);
        expect(worst, `iteration ${iterations}: ${Buffer.from(bytes).toString('hex')}`).toBeGreaterThanOrEqual(severityRank('medium'));
      }
      iterations++;
    }
    expect(iterations).toBeGreaterThan(200);
  }, 60_000);
});
