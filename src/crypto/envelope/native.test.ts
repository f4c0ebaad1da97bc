// The native segment cipher must be byte-for-byte the JavaScript one, refuse the same tampering,
// and never write outside the buffers it is given.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededBytes } from '../testing/fixtures.js';
import { NATIVE_ADDON_PATH, nativeProblem, nativeSegments, type NativeSegments } from './native.js';
import { SegmentCipher, sealedLength } from './segments.js';

const KEY = seededBytes('native-key', 32);
const PREFIX = seededBytes('native-prefix', 7);
const AAD = seededBytes('native-aad', 32);
const SEG = 1024;
const UNIT = SEG + 16;

let m: NativeSegments;

// RAMPART_NATIVE_CRYPTO=0 runs the other crypto tests on the JavaScript path; nothing to test here then.
const disabled = process.env.RAMPART_NATIVE_CRYPTO === '0';

beforeAll(() => {
  if (disabled) return;
  // CI builds it in `npm ci` (prepare); build it here too when running from a fresh tree.
  if (!existsSync(NATIVE_ADDON_PATH)) {
    spawnSync(process.execPath, [fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url))], { stdio: 'inherit' });
  }
  const loaded = nativeSegments();
  if (!loaded) throw new Error(`native segment cipher unavailable: ${nativeProblem()}`);
  m = loaded;
});

function ciphers(): { native: SegmentCipher; js: SegmentCipher } {
  return { native: new SegmentCipher(KEY, PREFIX, AAD), js: new SegmentCipher(KEY, PREFIX, AAD, false) };
}

describe.skipIf(disabled)('native segment cipher', () => {
  it('seals exactly like the JavaScript path (sizes around segment boundaries, high indexes, last flag)', () => {
    const { native, js } = ciphers();
    for (const size of [0, 1, SEG - 1, SEG, SEG + 1, 5 * SEG + 7, 8 * SEG]) {
      for (const [first, final] of [
        [0, true],
        [0, false],
        [0xffffffff - 8, true],
      ] as const) {
        const pt = seededBytes(`pt-${size}`, size);
        const a = Buffer.alloc(sealedLength(size, SEG));
        const b = Buffer.alloc(sealedLength(size, SEG));
        expect(native.sealBlock(pt, a, SEG, first, final)).toBe(a.length);
        expect(js.sealBlock(pt, b, SEG, first, final)).toBe(b.length);
        expect(a.equals(b)).toBe(true);
        // Both open what either sealed, only with the same index and flag.
        for (const c of [native, js]) {
          const back = Buffer.alloc(size);
          expect(c.openBlock(a, back, UNIT, first, final)).toBe(size);
          expect(back.equals(pt)).toBe(true);
          const nseg = Math.max(1, Math.ceil(size / SEG));
          expect(c.openBlock(a, back, UNIT, first, !final)).toBe(-nseg);
          if (first > 0) expect(c.openBlock(a, back, UNIT, first - 1, final)).toBe(-1);
        }
      }
    }
  });

  it('names the failing segment of a block and leaves none of its plaintext behind', () => {
    const { native, js } = ciphers();
    const pt = seededBytes('tamper', 4 * SEG + 100);
    const sealed = Buffer.alloc(sealedLength(pt.length, SEG));
    native.sealBlock(pt, sealed, SEG, 3, true);
    for (let k = 0; k < 5; k++) {
      for (const where of [k * UNIT, k * UNIT + 17, Math.min((k + 1) * UNIT, sealed.length) - 1]) {
        const bad = Buffer.from(sealed);
        bad[where]! ^= 0x40;
        for (const c of [native, js]) {
          const out = Buffer.alloc(pt.length, 0xee);
          expect(c.openBlock(bad, out, UNIT, 3, true)).toBe(-1 - k);
          // Segments before k were released into out; segment k's bytes were not.
          expect(out.subarray(0, k * SEG).equals(pt.subarray(0, k * SEG))).toBe(true);
          expect(out.subarray(k * SEG, Math.min((k + 1) * SEG, pt.length)).equals(pt.subarray(k * SEG, (k + 1) * SEG))).toBe(false);
        }
      }
    }
    // A block cut inside the last tag fails the last segment.
    for (const c of [native, js]) expect(c.openBlock(sealed.subarray(0, 4 * UNIT + 10), Buffer.alloc(pt.length), UNIT, 3, true)).toBe(-5);
  });

  it('refuses calls that would write out of bounds or misuse a handle', () => {
    const enc = m.create(true, KEY, PREFIX, AAD);
    const dec = m.create(false, KEY, PREFIX, AAD);
    const pt = Buffer.alloc(3 * SEG);
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT - 1), SEG, 0, true)).toThrow(/too small/);
    const big = Buffer.alloc(5 * UNIT);
    expect(() => m.seal(enc, big.subarray(0, 3 * SEG), big.subarray(10), SEG, 0, true)).toThrow(/overlap/);
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT), SEG, 0xffffffff - 1, true)).toThrow(/out of range/);
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT), 0, 0, true)).toThrow();
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT), SEG, -1, true)).toThrow();
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT), SEG, 1.5, true)).toThrow();
    expect(() => m.open(enc, Buffer.alloc(UNIT), Buffer.alloc(SEG), UNIT, 0, true)).toThrow(); // a sealing handle
    expect(() => m.open(dec, Buffer.alloc(2 * UNIT), Buffer.alloc(2 * SEG - 1), UNIT, 0, true)).toThrow(/too small/);
    expect(() => m.create(true, Buffer.alloc(31), PREFIX, AAD)).toThrow();
    expect(() => m.create(true, KEY, Buffer.alloc(8), AAD)).toThrow();
    m.destroy(enc);
    expect(() => m.seal(enc, pt, Buffer.alloc(3 * UNIT), SEG, 0, true)).toThrow(); // destroyed
    m.destroy(dec);
  });

  it('refuses an external value made by another addon as a handle (regression: any external was read as its own context)', () => {
    // Another addon whose external points at memory laid out like a context with a non-null
    // OpenSSL pointer. Compiled here with the compiler scripts/build-native.mjs uses; run in a
    // child process, since the unfixed addon would dereference that pointer.
    const include = join(dirname(dirname(process.execPath)), 'include', 'node');
    const dir = mkdtempSync(join(tmpdir(), 'rampart-foreign-'));
    try {
      writeFileSync(
        join(dir, 'foreign.c'),
        `#include <node_api.h>
static unsigned char fake_ctx[4096];
static void *fake[64] = {fake_ctx, (void *)1};
static napi_value make(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_external(env, fake, NULL, NULL, &v);
  return v;
}
static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "make", NAPI_AUTO_LENGTH, make, NULL, &f);
  napi_set_named_property(env, exports, "make", f);
  return exports;
}
NAPI_MODULE(foreign, init)
`,
      );
      const cc = spawnSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-DNAPI_VERSION=8', `-I${include}`, join(dir, 'foreign.c'), '-o', join(dir, 'foreign.node')], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const script = `
const { createRequire } = require('node:module');
const req = createRequire(${JSON.stringify(join(dir, 'x.js'))});
const m = req(${JSON.stringify(NATIVE_ADDON_PATH)});
const fake = req(${JSON.stringify(join(dir, 'foreign.node'))}).make();
const out = [];
const tryIt = (f) => { try { f(); out.push('accepted'); } catch (e) { out.push(e.message); } };
tryIt(() => m.seal(fake, Buffer.alloc(16), Buffer.alloc(64), 16, 0, true));
tryIt(() => m.open(fake, Buffer.alloc(32), Buffer.alloc(16), 32, 0, true));
tryIt(() => m.destroy(fake));
tryIt(() => m.destroy({}));
const h = m.create(true, Buffer.alloc(32), Buffer.alloc(7), Buffer.alloc(0));
tryIt(() => m.seal(h, Buffer.alloc(16), Buffer.alloc(64), 16, 0, true));
process.stdout.write(JSON.stringify(out));
`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(r.signal).toBeNull();
      expect(JSON.parse(r.stdout)).toEqual(['seal: invalid arguments', 'open: invalid arguments', 'destroy: not a handle', 'destroy: not a handle', 'accepted']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
