// Loads the optional native segment cipher (src/crypto/native/segments.c, built into
// dist/native/segments.node by scripts/build-native.mjs). It seals and opens whole blocks of
// segments into caller-owned buffers, with the AES-256-GCM of the OpenSSL Node itself uses. Before
// first use it must reproduce a known answer computed with node:crypto; if the addon is missing,
// fails to load or gives another answer, Rampart uses the JavaScript path (same bytes, slower).
// RAMPART_NATIVE_CRYPTO=0 turns it off.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeHandle {
  readonly __native: unique symbol;
}

export interface NativeSegments {
  create(encrypt: boolean, key: Buffer, noncePrefix: Buffer, aad: Buffer): NativeHandle;
  /** Seals the segments of `input` into `output`; returns the bytes written. */
  seal(h: NativeHandle, input: Buffer, output: Buffer, segmentSize: number, firstIndex: number, final: boolean): number;
  /** Opens segments of `unit` stored bytes; returns plaintext bytes, or -1 - k when the k-th segment fails. */
  open(h: NativeHandle, input: Buffer, output: Buffer, unit: number, firstIndex: number, final: boolean): number;
  destroy(h: NativeHandle): void;
  /**
   * Reads `inFd` from offset 0 to its end and writes the sealed segments to `outFd` from
   * `outOffset`, on a thread-pool thread (POSIX builds only). The handle is busy until it settles.
   * Rejects with the errno code (`ENOSPC`, ...) of a failed read or write. A non-zero first byte
   * in `cancel` stops the job before its next block (rejects with code `ECANCELED`).
   */
  sealFile?(
    h: NativeHandle,
    inFd: number,
    outFd: number,
    outOffset: number,
    segmentSize: number,
    firstIndex: number,
    blockBytes: number,
    pipelined: boolean,
    cancel: Buffer | null,
  ): Promise<{ bytesIn: number; bytesOut: number }>;
}

/** Source and compiled package alike live three levels below the package root. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../../dist/native/segments.node', import.meta.url));

let loaded: NativeSegments | null | undefined;
let loadProblem = '';

/** True when `m` seals and opens like node:crypto (a known-answer test over 3 segments). */
function selfTest(m: NativeSegments): boolean {
  const key = Buffer.alloc(32, 7);
  const prefix = Buffer.from('rampart', 'ascii');
  const aad = Buffer.alloc(32, 9);
  const seg = 1024;
  const pt = Buffer.alloc(2 * seg + 100);
  for (let i = 0; i < pt.length; i++) pt[i] = (i * 31 + 7) & 0xff;
  const expected: Buffer[] = [];
  for (let s = 0; s < 3; s++) {
    const nonce = Buffer.concat([prefix, Buffer.from([0, 0, 0, s + 1, s === 2 ? 1 : 0])]);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad);
    expected.push(c.update(pt.subarray(s * seg, (s + 1) * seg)));
    c.final();
    expected.push(c.getAuthTag());
  }
  const want = Buffer.concat(expected);
  const enc = m.create(true, key, prefix, aad);
  const dec = m.create(false, key, prefix, aad);
  try {
    const out = Buffer.alloc(want.length);
    if (m.seal(enc, pt, out, seg, 1, true) !== want.length || !out.equals(want)) return false;
    const back = Buffer.alloc(pt.length);
    if (m.open(dec, out, back, seg + 16, 1, true) !== pt.length || !back.equals(pt)) return false;
    // A flipped bit in the last tag must fail that segment (k = 2) and nothing else.
    out[out.length - 1]! ^= 1;
    if (m.open(dec, out, back, seg + 16, 1, true) !== -3) return false;
    // Cross-check the opening side against node:crypto as well.
    const d = createDecipheriv('aes-256-gcm', key, Buffer.concat([prefix, Buffer.from([0, 0, 0, 1, 0])]));
    d.setAAD(aad);
    d.setAuthTag(want.subarray(seg, seg + 16));
    const first = d.update(want.subarray(0, seg));
    d.final();
    return first.equals(pt.subarray(0, seg));
  } finally {
    m.destroy(enc);
    m.destroy(dec);
  }
}

/** The native segment cipher, or null when unavailable (see nativeProblem()). Loaded once. */
export function nativeSegments(): NativeSegments | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.RAMPART_NATIVE_CRYPTO === '0') {
    loadProblem = 'disabled by RAMPART_NATIVE_CRYPTO=0';
    return null;
  }
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loadProblem = 'not built (run `node scripts/build-native.mjs`)';
    return null;
  }
  try {
    const m = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeSegments;
    if (selfTest(m)) loaded = m;
    else loadProblem = 'failed its known-answer test';
  } catch (err) {
    loadProblem = `failed to load: ${(err as Error).message}`;
  }
  return loaded;
}

/** Why the native segment cipher is not in use ('' when it is). */
export function nativeProblem(): string {
  nativeSegments();
  return loadProblem;
}
