// Test helpers: writes .npy/.npz bytes (numpy.lib.format v1) for fixtures generated in code.
import { zipSync } from 'fflate';

export function npyBytes(shape: number[], values: ArrayLike<number>, descr = '<f8', fortran = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const size = Number(/\d+$/.exec(descr)?.[0] ?? 8);
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const little = !descr.startsWith('>');
  let p = 10 + header.length;
  for (let k = 0; k < values.length; k++, p += size) {
    const v = values[k]!;
    if (descr.endsWith('f8')) dv.setFloat64(p, v, little);
    else if (descr.endsWith('f4')) dv.setFloat32(p, v, little);
    else if (descr.endsWith('i8')) dv.setBigInt64(p, BigInt(v), little);
    else if (descr.endsWith('i4')) dv.setInt32(p, v, little);
    else if (descr.endsWith('u1')) out[p] = v;
  }
  return out;
}

export function npzBytes(arrays: Record<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${k}.npy`, v])));
}

/** Deterministic PRNG (mulberry32) for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
