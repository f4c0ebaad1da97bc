// A tiny pickle assembler for tests, fuzzing and benchmarks: writes opcodes byte by byte, so
// fixtures (benign and hostile) are generated in code and never loaded by any unpickler.

const enc = new TextEncoder();

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function u64(n: number): number[] {
  const lo = n >>> 0;
  const hi = Math.floor(n / 2 ** 32) >>> 0;
  return [...u32(lo), ...u32(hi)];
}

export class PickleBuilder {
  readonly out: number[] = [];

  raw(...bytes: (number | number[] | Uint8Array | string)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') this.out.push(b);
      else if (typeof b === 'string') for (const c of enc.encode(b)) this.out.push(c);
      else for (const c of b) this.out.push(c);
    }
    return this;
  }
  proto(n = 4): this {
    return this.raw(0x80, n);
  }
  frame(len: number): this {
    return this.raw(0x95, u64(len));
  }
  global(module: string, name: string): this {
    return this.raw('c', module, '\n', name, '\n');
  }
  inst(module: string, name: string): this {
    return this.raw('i', module, '\n', name, '\n');
  }
  /** SHORT_BINUNICODE */
  str(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x8c, b.length, b);
  }
  binunicode(s: string): this {
    const b = enc.encode(s);
    return this.raw('X', u32(b.length), b);
  }
  /** protocol 0 STRING with a quoted literal written as given */
  string0(quotedBody: string): this {
    return this.raw('S', quotedBody, '\n');
  }
  unicode0(rawEscaped: string): this {
    return this.raw('V', rawEscaped, '\n');
  }
  shortBinstring(s: string): this {
    const b = enc.encode(s);
    return this.raw('U', b.length, b);
  }
  bytes(b: Uint8Array): this {
    return b.length < 256 ? this.raw('C', b.length, b) : this.raw('B', u32(b.length), b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw('K', n);
    if (n >= 0 && n < 65536) return this.raw('M', n & 0xff, n >> 8);
    return this.raw('J', u32(n));
  }
  none(): this {
    return this.raw('N');
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  mark(): this {
    return this.raw('(');
  }
  tuple(): this {
    return this.raw('t');
  }
  tuple1(): this {
    return this.raw(0x85);
  }
  tuple2(): this {
    return this.raw(0x86);
  }
  tuple3(): this {
    return this.raw(0x87);
  }
  emptyTuple(): this {
    return this.raw(')');
  }
  emptyDict(): this {
    return this.raw('}');
  }
  emptyList(): this {
    return this.raw(']');
  }
  setitems(): this {
    return this.raw('u');
  }
  setitem(): this {
    return this.raw('s');
  }
  appends(): this {
    return this.raw('e');
  }
  reduce(): this {
    return this.raw('R');
  }
  build(): this {
    return this.raw('b');
  }
  newobj(): this {
    return this.raw(0x81);
  }
  stackGlobal(): this {
    return this.raw(0x93);
  }
  memoize(): this {
    return this.raw(0x94);
  }
  binput(i: number): this {
    return this.raw('q', i);
  }
  binget(i: number): this {
    return this.raw('h', i);
  }
  binpersid(): this {
    return this.raw('Q');
  }
  stop(): this {
    return this.raw('.');
  }
  bytesOut(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function pb(): PickleBuilder {
  return new PickleBuilder();
}

/** A call `module.name(*stringArgs)` as protocol 2 GLOBAL + TUPLE + REDUCE + STOP. */
export function callPickle(module: string, name: string, ...args: string[]): Uint8Array {
  const b = pb().proto(2).global(module, name).mark();
  for (const a of args) b.binunicode(a);
  return b.tuple().reduce().stop().bytesOut();
}

/** The same call through STACK_GLOBAL (protocol 4). */
export function stackGlobalCall(module: string, name: string, ...args: string[]): Uint8Array {
  const b = pb().proto(4).str(module).memoize().str(name).memoize().stackGlobal().memoize().mark();
  for (const a of args) b.str(a);
  return b.tuple().reduce().stop().bytesOut();
}

/**
 * A state dict the way torch.save writes data.pkl (protocol 2): an OrderedDict of tensors rebuilt
 * by torch._utils._rebuild_tensor_v2 from storages referenced by persistent ids.
 */
export function torchStateDictPickle(tensors: { name: string; key: string; shape: number[]; storage?: string }[]): Uint8Array {
  const b = pb().proto(2).global('collections', 'OrderedDict').binput(0).emptyTuple().reduce().binput(1).mark();
  let memo = 2;
  for (const t of tensors) {
    b.binunicode(t.name).binput(memo++ & 0xff);
    b.global('torch._utils', '_rebuild_tensor_v2').binput(memo++ & 0xff);
    b.mark();
    b.mark().binunicode('storage').global('torch', t.storage ?? 'FloatStorage').binput(memo++ & 0xff).binunicode(t.key).binunicode('cpu');
    b.int(t.shape.reduce((a, c) => a * c, 1)).tuple().binpersid();
    b.int(0);
    b.mark();
    for (const d of t.shape) b.int(d);
    b.tuple();
    b.mark();
    let stride = 1;
    const strides: number[] = [];
    for (let i = t.shape.length - 1; i >= 0; i--) {
      strides.unshift(stride);
      stride *= t.shape[i]!;
    }
    for (const s of strides) b.int(s);
    b.tuple();
    b.bool(false);
    b.global('collections', 'OrderedDict').emptyTuple().reduce();
    b.tuple();
    b.reduce().binput(memo++ & 0xff);
  }
  return b.setitems().stop().bytesOut();
}
