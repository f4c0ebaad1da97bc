// A bounded LZMA / LZMA2 / xz decoder, written from the format descriptions (Igor Pavlov's LZMA
// specification "lzma-specification.txt" and the .xz file format 1.x specification). Output is
// kept in memory up to a cap and doubles as the dictionary; decoding stops at the cap. Only the
// LZMA2 filter is supported in .xz blocks (BCJ/delta filter chains are reported as unsupported).

export class LzmaError extends Error {}
class CapReached extends Error {}

class Out {
  buf: Uint8Array;
  pos = 0;
  constructor(
    readonly cap: number,
    initial: number,
  ) {
    this.buf = new Uint8Array(Math.min(cap, Math.max(1024, initial)));
  }
  put(b: number): void {
    if (this.pos >= this.buf.length) this.grow();
    this.buf[this.pos++] = b;
  }
  private grow(): void {
    if (this.buf.length >= this.cap) throw new CapReached();
    const next = new Uint8Array(Math.min(this.cap, this.buf.length * 2));
    next.set(this.buf);
    this.buf = next;
  }
  /** Byte `dist` positions back (1 = last byte). */
  back(dist: number): number {
    return this.buf[this.pos - dist]!;
  }
}

class RangeDecoder {
  range = 0xffffffff;
  code = 0;
  constructor(
    private readonly src: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {
    if (this.byte() !== 0) throw new LzmaError('corrupted range coder start');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.byte()) >>> 0;
    if (this.code === this.range) throw new LzmaError('corrupted range coder start');
  }
  private byte(): number {
    if (this.pos >= this.end) throw new LzmaError('compressed data ended early');
    return this.src[this.pos++]!;
  }
  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.byte()) >>> 0;
    }
  }
  bit(probs: Uint16Array, i: number): number {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    let r: number;
    if (this.code < bound) {
      this.range = bound >>> 0;
      probs[i] = p + ((2048 - p) >>> 5);
      r = 0;
    } else {
      this.range = (this.range - bound) >>> 0;
      this.code = (this.code - bound) >>> 0;
      probs[i] = p - (p >>> 5);
      r = 1;
    }
    this.normalize();
    return r;
  }
  direct(n: number): number {
    let res = 0;
    for (let i = 0; i < n; i++) {
      this.range = this.range >>> 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code = (this.code - this.range) >>> 0;
        bit = 1;
      }
      res = res * 2 + bit;
      this.normalize();
    }
    return res;
  }
  finishedOk(): boolean {
    return this.code === 0;
  }
}

function tree(rc: RangeDecoder, probs: Uint16Array, base: number, bits: number): number {
  let m = 1;
  for (let i = 0; i < bits; i++) m = (m << 1) + rc.bit(probs, base + m);
  return m - (1 << bits);
}
function reverseTree(rc: RangeDecoder, probs: Uint16Array, base: number, bits: number): number {
  let m = 1;
  let sym = 0;
  for (let i = 0; i < bits; i++) {
    const b = rc.bit(probs, base + m);
    m = (m << 1) + b;
    sym |= b << i;
  }
  return sym;
}

const POS_STATES = 16;

class LenDecoder {
  choice = new Uint16Array(2).fill(1024);
  low = new Uint16Array(POS_STATES << 3).fill(1024);
  mid = new Uint16Array(POS_STATES << 3).fill(1024);
  high = new Uint16Array(256).fill(1024);
  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return tree(rc, this.low, posState << 3, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + tree(rc, this.mid, posState << 3, 3);
    return 16 + tree(rc, this.high, 0, 8);
  }
}

/** LZMA decoder state that survives LZMA2 chunks. */
class LzmaState {
  lc = 0;
  lp = 0;
  pb = 0;
  literal = new Uint16Array(0);
  isMatch = new Uint16Array(12 << 4);
  isRep = new Uint16Array(12);
  isRepG0 = new Uint16Array(12);
  isRepG1 = new Uint16Array(12);
  isRepG2 = new Uint16Array(12);
  isRep0Long = new Uint16Array(12 << 4);
  posSlot = new Uint16Array(4 << 6);
  posDecoders = new Uint16Array(1 + 114);
  align = new Uint16Array(16);
  len = new LenDecoder();
  repLen = new LenDecoder();
  state = 0;
  reps = [0, 0, 0, 0];

  setProps(d: number): void {
    if (d >= 225) throw new LzmaError('invalid LZMA properties');
    this.lc = d % 9;
    d = Math.floor(d / 9);
    this.lp = d % 5;
    this.pb = Math.floor(d / 5);
  }
  reset(): void {
    this.literal = new Uint16Array(0x300 << (this.lc + this.lp)).fill(1024);
    for (const a of [this.isMatch, this.isRep, this.isRepG0, this.isRepG1, this.isRepG2, this.isRep0Long, this.posSlot, this.posDecoders, this.align]) a.fill(1024);
    this.len = new LenDecoder();
    this.repLen = new LenDecoder();
    this.state = 0;
    this.reps = [0, 0, 0, 0];
  }

  /**
   * Decodes until `unpack` bytes are produced (when defined) or the end marker. `dictStart` is the
   * output position of the last dictionary reset: matches may not reach before it.
   */
  decode(rc: RangeDecoder, out: Out, unpack: number | undefined, dictStart: number, allowMarker: boolean): void {
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    let remaining = unpack ?? Infinity;
    for (;;) {
      if (remaining === 0 && !allowMarker) return;
      const posState = out.pos & pbMask;
      const s = this.state;
      if (rc.bit(this.isMatch, (s << 4) + posState) === 0) {
        if (remaining === 0) throw new LzmaError('data after the declared size');
        const prev = out.pos > dictStart ? out.back(1) : 0;
        const base = 0x300 * (((out.pos & lpMask) << this.lc) + (prev >>> (8 - this.lc)));
        let sym = 1;
        if (s >= 7) {
          let match = out.back(this.reps[0]! + 1);
          do {
            const mb = (match >>> 7) & 1;
            match <<= 1;
            const b = rc.bit(this.literal, base + ((1 + mb) << 8) + sym);
            sym = (sym << 1) | b;
            if (mb !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) sym = (sym << 1) | rc.bit(this.literal, base + sym);
        out.put(sym - 0x100);
        this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
        remaining--;
        continue;
      }
      let len: number;
      if (rc.bit(this.isRep, s) !== 0) {
        if (remaining === 0) throw new LzmaError('data after the declared size');
        if (out.pos <= dictStart) throw new LzmaError('repeat before any data');
        if (rc.bit(this.isRepG0, s) === 0) {
          if (rc.bit(this.isRep0Long, (s << 4) + posState) === 0) {
            this.state = s < 7 ? 9 : 11;
            out.put(out.back(this.reps[0]! + 1));
            remaining--;
            continue;
          }
        } else {
          let dist: number;
          if (rc.bit(this.isRepG1, s) === 0) dist = this.reps[1]!;
          else {
            if (rc.bit(this.isRepG2, s) === 0) dist = this.reps[2]!;
            else {
              dist = this.reps[3]!;
              this.reps[3] = this.reps[2]!;
            }
            this.reps[2] = this.reps[1]!;
          }
          this.reps[1] = this.reps[0]!;
          this.reps[0] = dist;
        }
        len = this.repLen.decode(rc, posState);
        this.state = s < 7 ? 8 : 11;
      } else {
        this.reps[3] = this.reps[2]!;
        this.reps[2] = this.reps[1]!;
        this.reps[1] = this.reps[0]!;
        len = this.len.decode(rc, posState);
        this.state = s < 7 ? 7 : 10;
        // Distance.
        const lenState = Math.min(len, 3);
        const slot = tree(rc, this.posSlot, lenState << 6, 6);
        let dist: number;
        if (slot < 4) dist = slot;
        else {
          const direct = (slot >>> 1) - 1;
          dist = (2 | (slot & 1)) * 2 ** direct;
          if (slot < 14) dist += reverseTree(rc, this.posDecoders, dist - slot, direct);
          else {
            dist += rc.direct(direct - 4) * 16;
            dist += reverseTree(rc, this.align, 0, 4);
          }
        }
        if (dist === 0xffffffff) {
          if (!allowMarker && unpack !== undefined) throw new LzmaError('unexpected end marker');
          if (!rc.finishedOk()) throw new LzmaError('corrupted data after end marker');
          return;
        }
        if (remaining === 0) throw new LzmaError('data after the declared size');
        this.reps[0] = dist;
        if (dist >= out.pos - dictStart) throw new LzmaError('match distance beyond the dictionary');
      }
      len += 2;
      if (len > remaining) throw new LzmaError('match beyond the declared size');
      const d = this.reps[0]! + 1;
      for (let i = 0; i < len; i++) out.put(out.back(d));
      remaining -= len;
    }
  }
}

export interface LzmaResult {
  data: Uint8Array;
  truncated: boolean;
  error?: string;
}

function finish(out: Out, e: unknown): LzmaResult {
  const data = out.buf.subarray(0, out.pos);
  if (e === undefined) return { data, truncated: false };
  if (e instanceof CapReached) return { data, truncated: true };
  if (e instanceof LzmaError) return { data, truncated: false, error: e.message };
  if (e instanceof RangeError) return { data, truncated: false, error: 'corrupted data' };
  throw e;
}

/** .lzma ("LZMA alone"): 5 bytes of properties and dictionary size, 8 bytes of size, data. */
export function decodeLzmaAlone(src: Uint8Array, cap: number): LzmaResult {
  const out = new Out(cap, src.length * 4);
  try {
    if (src.length < 13) throw new LzmaError('header truncated');
    const st = new LzmaState();
    st.setProps(src[0]!);
    st.reset();
    let size: number | undefined = 0;
    let allFF = true;
    for (let i = 0; i < 8; i++) {
      if (src[5 + i] !== 0xff) allFF = false;
      size += src[5 + i]! * 2 ** (8 * i);
    }
    if (allFF) size = undefined;
    const rc = new RangeDecoder(src, 13, src.length);
    st.decode(rc, out, size, 0, size === undefined);
    return finish(out, undefined);
  } catch (e) {
    return finish(out, e);
  }
}

function decodeLzma2(src: Uint8Array, pos: number, end: number, out: Out, st: LzmaState): number {
  let dictStart = out.pos;
  let needProps = true;
  for (;;) {
    if (pos >= end) throw new LzmaError('LZMA2 data ended early');
    const c = src[pos++]!;
    if (c === 0) return pos;
    if (c === 1 || c === 2) {
      if (c === 1) dictStart = out.pos;
      const size = ((src[pos]! << 8) | src[pos + 1]!) + 1;
      pos += 2;
      if (pos + size > end) throw new LzmaError('LZMA2 chunk ended early');
      for (let i = 0; i < size; i++) out.put(src[pos + i]!);
      pos += size;
      continue;
    }
    if (c < 0x80) throw new LzmaError('invalid LZMA2 control byte');
    const unpacked = ((c & 0x1f) << 16) + ((src[pos]! << 8) | src[pos + 1]!) + 1;
    const packed = ((src[pos + 2]! << 8) | src[pos + 3]!) + 1;
    pos += 4;
    const mode = (c >>> 5) & 3;
    if (mode === 3) dictStart = out.pos;
    if (mode >= 2) {
      st.setProps(src[pos++]!);
      if (st.lc + st.lp > 4) throw new LzmaError('invalid LZMA2 properties');
      needProps = false;
    } else if (needProps) throw new LzmaError('LZMA2 chunk without properties');
    if (mode >= 1) st.reset();
    if (pos + packed > end) throw new LzmaError('LZMA2 chunk ended early');
    const rc = new RangeDecoder(src, pos, pos + packed);
    st.decode(rc, out, unpacked, dictStart, false);
    pos += packed;
  }
}

function vli(src: Uint8Array, p: { pos: number }): number {
  let n = 0;
  for (let i = 0; i < 9; i++) {
    const b = src[p.pos++];
    if (b === undefined) throw new LzmaError('truncated number');
    n += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) return n;
  }
  throw new LzmaError('number too long');
}

const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/** .xz: streams of blocks (LZMA2 filter only), each with its index and footer. */
export function decodeXz(src: Uint8Array, cap: number): LzmaResult {
  const out = new Out(cap, src.length * 4);
  try {
    const p = { pos: 0 };
    let streams = 0;
    while (p.pos < src.length) {
      if (streams > 0) {
        while (p.pos < src.length && src[p.pos] === 0) p.pos++; // stream padding
        if (p.pos >= src.length) break;
      }
      if (!XZ_MAGIC.every((b, i) => src[p.pos + i] === b)) throw new LzmaError('not an xz stream');
      const check = src[p.pos + 7]! & 0x0f;
      p.pos += 12;
      streams++;
      for (;;) {
        const hsize = src[p.pos];
        if (hsize === undefined) throw new LzmaError('xz stream ended early');
        if (hsize === 0) {
          // Index, then the stream footer.
          p.pos++;
          const records = vli(src, p);
          for (let i = 0; i < records; i++) {
            vli(src, p);
            vli(src, p);
          }
          p.pos = Math.ceil(p.pos / 4) * 4 + 4 + 12;
          break;
        }
        const hstart = p.pos;
        const hend = hstart + (hsize + 1) * 4;
        p.pos++;
        const flags = src[p.pos++]!;
        const filters = (flags & 3) + 1;
        if (flags & 0x40) vli(src, p);
        if (flags & 0x80) vli(src, p);
        let lzma2 = false;
        for (let f = 0; f < filters; f++) {
          const id = vli(src, p);
          const psize = vli(src, p);
          if (id === 0x21 && f === filters - 1) lzma2 = true;
          else throw new LzmaError(`unsupported xz filter 0x${id.toString(16)}`);
          p.pos += psize;
        }
        if (!lzma2) throw new LzmaError('xz block without LZMA2');
        p.pos = hend;
        const st = new LzmaState();
        p.pos = decodeLzma2(src, p.pos, src.length, out, st);
        p.pos = Math.ceil(p.pos / 4) * 4 + CHECK_SIZE[check]!;
      }
    }
    return finish(out, undefined);
  } catch (e) {
    return finish(out, e);
  }
}
