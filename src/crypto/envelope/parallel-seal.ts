// Seals the segments of a file on worker threads. Segments are independent (each has its own
// nonce), so blocks of segments can be sealed on several cores and written in order. The output is
// byte-for-byte what sealSegments() produces for the same sealing state (a test checks it).
// Memory stays bounded: at most 2 × jobs blocks of about 1 MiB are in flight.
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../../core/errors.js';
import type { SealingState } from './envelope.js';
import { blockSize } from './envelope.js';
import { MAX_SEGMENTS } from './segments.js';
import { NATIVE_ADDON_PATH, nativeSegments } from './native.js';

// Plain CommonJS so that it runs from the compiled package and from the TypeScript sources alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, createSecretKey } = require('node:crypto');
const rawKey = Buffer.from(workerData.key);
const key = createSecretKey(rawKey);
const prefix = Buffer.from(workerData.prefix);
const aad = Buffer.from(workerData.aad);
const seg = workerData.segmentSize;
// The native segment cipher, when the main thread found it working (it passed its known-answer test).
const nat = workerData.addon ? require(workerData.addon) : null;
const handle = nat ? nat.create(true, rawKey, prefix, aad) : null;
rawKey.fill(0);
parentPort.on('message', (m) => {
  try {
    const input = Buffer.from(m.buf, 0, m.length);
    const n = m.length === 0 ? 1 : Math.ceil(m.length / seg);
    const out = Buffer.allocUnsafeSlow(m.length + 16 * n);
    let o = 0;
    if (handle) o = nat.seal(handle, input, out, seg, m.first, m.final);
    else for (let s = 0; s < n; s++) {
      const nonce = Buffer.alloc(12);
      prefix.copy(nonce, 0);
      nonce.writeUInt32BE(m.first + s, 7);
      nonce[11] = m.final && s === n - 1 ? 1 : 0;
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(aad);
      o += c.update(input.subarray(s * seg, (s + 1) * seg)).copy(out, o);
      c.final();
      o += c.getAuthTag().copy(out, o);
    }
    parentPort.postMessage({ id: m.id, out: out.buffer, length: o, buf: m.buf }, [out.buffer, m.buf]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

interface Result {
  id: number;
  out?: ArrayBuffer;
  length?: number;
  buf?: ArrayBuffer;
  error?: string;
}

/** Like sealSegments(), reading the file at `fh` from offset 0, with `jobs` worker threads. */
export async function* sealSegmentsParallel(fh: FileHandle, state: SealingState, jobs: number): AsyncGenerator<Buffer[]> {
  yield [state.header];
  const seg = state.segmentSize;
  const block = blockSize(seg);
  const { key, noncePrefix, coreHash } = state.cipher.material();
  const workers = Array.from({ length: jobs }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { key, prefix: noncePrefix, aad: coreHash, segmentSize: seg, addon: nativeSegments() ? NATIVE_ADDON_PATH : null } }));
  key.fill(0);
  const waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  const free: ArrayBuffer[] = [];
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  for (const w of workers) {
    w.on('message', (m: Result) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.buf) free.push(m.buf);
      if (!p) return;
      if (m.error || !m.out) p.reject(new Error(`sealing worker failed: ${m.error ?? 'no output'}`));
      else p.resolve(Buffer.from(m.out, 0, m.length));
    });
    w.on('error', failAll);
  }
  let position = 0;
  const readBlock = async (): Promise<{ buf: ArrayBuffer; length: number }> => {
    const buf = free.pop() ?? new ArrayBuffer(block);
    const view = Buffer.from(buf);
    let got = 0;
    while (got < block) {
      const { bytesRead } = await fh.read(view, got, block - got, position);
      if (bytesRead === 0) break;
      got += bytesRead;
      position += bytesRead;
    }
    return { buf, length: got };
  };
  try {
    const inflight: Promise<Buffer>[] = [];
    let id = 0;
    let index = 0;
    let cur = await readBlock();
    for (;;) {
      const full = cur.length === block;
      const next = full ? await readBlock() : null;
      const final = !full || next!.length === 0;
      const n = cur.length === 0 ? 1 : Math.ceil(cur.length / seg);
      if (index + n - 1 > MAX_SEGMENTS) throw new UsageError('input too large for this segment size');
      if (failure) throw failure;
      const myId = id++;
      const done = new Promise<Buffer>((resolve, reject) => waiting.set(myId, { resolve, reject }));
      done.catch(() => undefined);
      workers[myId % jobs]!.postMessage({ id: myId, buf: cur.buf, length: cur.length, first: index, final }, [cur.buf]);
      inflight.push(done);
      index += n;
      while (inflight.length >= 2 * jobs || (final && inflight.length > 0)) yield [await inflight.shift()!];
      if (final) return;
      cur = next!;
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
