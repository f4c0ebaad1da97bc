// Symbolic execution of the pickle virtual machine. It follows CPython's Unpickler opcode by opcode
// (stack, metastack of marks, memo, FRAME, protocol) but never imports or calls anything: globals
// become symbolic values, calls become records. What it records (imports, calls, BUILDs on globals,
// persistent ids, extension codes, nested byte strings, the point and reason of a break) is turned
// into findings by analyze.ts. FRAME is a buffering hint, as in the C unpickler (_pickle.c
// load_frame): the opcodes inside are read linearly; inconsistencies are recorded, not trusted.
import { OPCODES, HIGHEST_PROTOCOL } from './opcodes.js';
import { classifyGlobal, type GlobalPolicy, type GlobalVerdict } from './globals.js';
import { StreamReader } from './stream-reader.js';
import { decodeLatin1, decodeQuotedString, decodeRawUnicodeEscape, decodeUtf8, parseIntLine } from './text.js';
import { ScanLimitError, ScanTimeoutError } from '../../errors.js';

export type Value =
  | { t: 'str'; v: string }
  | { t: 'bytes'; off: number; len: number; head: Uint8Array }
  | { t: 'int'; v: number }
  | { t: 'float' }
  | { t: 'none' }
  | { t: 'bool'; v: boolean }
  | { t: 'tuple'; items: Value[] }
  | { t: 'list'; items: Value[]; n: number }
  | { t: 'dict'; entries: [Value, Value][]; n: number }
  | { t: 'set'; n: number }
  | { t: 'global'; name: string; off: number; verdict: GlobalVerdict }
  | { t: 'obj'; cls: Value; off: number; via: CallKind; args: Value }
  | { t: 'pid'; off: number; pid: Value }
  | { t: 'ext'; code: number; off: number }
  | { t: 'opaque'; what: string };

export type CallKind = 'REDUCE' | 'INST' | 'OBJ' | 'NEWOBJ' | 'NEWOBJ_EX';

export interface ImportEvent {
  off: number;
  op: string;
  module: string;
  name: string;
  verdict: GlobalVerdict;
  value: Value & { t: 'global' };
}
export interface CallEvent {
  off: number;
  kind: CallKind;
  callee: Value;
  args: Value;
}
export interface BuildEvent {
  off: number;
  target: Value;
  state: Value;
}
export interface PickleRun {
  /** Absolute offset of the first opcode. */
  start: number;
  /** Offset just past STOP, or of the break. */
  end: number;
  ok: boolean;
  /** Why and where execution stopped early (a real unpickler raises there). */
  error?: { off: number; reason: string; opcode?: string };
  protocol: number;
  ops: number;
  imports: ImportEvent[];
  calls: CallEvent[];
  builds: BuildEvent[];
  persids: { off: number; pid: Value }[];
  exts: { off: number; code: number }[];
  dynamicGlobals: { off: number; module: Value | undefined; name: Value | undefined }[];
  nestedBytes: { off: number; len: number; head: Uint8Array }[];
  frameIssues: { off: number; reason: string }[];
  buffers: number[];
  /** Value left by STOP. */
  result?: Value;
}

export interface MachineHooks {
  /** Called after BUILD; may consume bytes that follow in the stream (joblib arrays). */
  afterBuild?(ev: BuildEvent, reader: StreamReader): Promise<void>;
}

export interface MachineOptions {
  policy: GlobalPolicy;
  maxOps: number;
  signal?: AbortSignal;
  hooks?: MachineHooks;
  /** Stop at the first opcode that is not valid (used to probe for embedded pickles). */
  maxLine?: number;
}

const MAX_KEEP = 64; // container items kept for later inspection (pid tuples, joblib state)
const MAX_STACK = 1_000_000;
const MAX_MEMO = 10_000_000;

class Break extends Error {
  constructor(
    readonly off: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function str(v: string): Value {
  return { t: 'str', v };
}

/** Short printable description of a value, for finding messages (`os.system('id')`). */
export function describe(v: Value | undefined, depth = 0): string {
  if (!v) return '?';
  switch (v.t) {
    case 'str':
      return JSON.stringify(v.v.length > 200 ? `${v.v.slice(0, 200)}…` : v.v);
    case 'bytes':
      return `<${v.len} bytes>`;
    case 'int':
      return String(v.v);
    case 'float':
      return '<float>';
    case 'none':
      return 'None';
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'tuple':
      return depth > 2 ? '(…)' : `(${v.items.map((i) => describe(i, depth + 1)).join(', ')}${v.items.length === 1 ? ',' : ''})`;
    case 'list':
      return depth > 2 ? '[…]' : `[${v.items.slice(0, 8).map((i) => describe(i, depth + 1)).join(', ')}${v.n > 8 ? ', …' : ''}]`;
    case 'dict':
      return `{${v.n} items}`;
    case 'set':
      return `{set of ${v.n}}`;
    case 'global':
      return v.name;
    case 'obj':
      return depth > 2 ? `${describe(v.cls, depth + 1)}(…)` : `${describe(v.cls, depth + 1)}${v.args.t === 'tuple' ? describe(v.args, depth + 1) : '(…)'}`;
    case 'pid':
      return `persistent_load(${describe(v.pid, depth + 1)})`;
    case 'ext':
      return `<extension ${v.code}>`;
    case 'opaque':
      return `<${v.what}>`;
  }
}

/**
 * Runs one pickle starting at `reader.pos` until STOP, a break, or the end of the reader. Never
 * throws for bad input; throws ScanLimitError / ScanTimeoutError for limits.
 */
export async function runPickle(reader: StreamReader, opts: MachineOptions): Promise<PickleRun> {
  const run: PickleRun = {
    start: reader.pos,
    end: reader.pos,
    ok: false,
    protocol: 0,
    ops: 0,
    imports: [],
    calls: [],
    builds: [],
    persids: [],
    exts: [],
    dynamicGlobals: [],
    nestedBytes: [],
    frameIssues: [],
    buffers: [],
  };
  let stack: Value[] = [];
  const meta: Value[][] = [];
  const memo = new Map<number, Value>();
  let frameEnd = -1;
  const maxLine = opts.maxLine ?? 1 << 20;
  let curOp: string | undefined;

  const pop = (off: number): Value => {
    const v = stack.pop();
    if (v === undefined) throw new Break(off, 'unpickling stack underflow');
    return v;
  };
  const top = (off: number): Value => {
    const v = stack[stack.length - 1];
    if (v === undefined) throw new Break(off, 'unpickling stack underflow');
    return v;
  };
  const popMark = (off: number): Value[] => {
    const items = stack;
    const prev = meta.pop();
    if (prev === undefined) throw new Break(off, 'could not find MARK');
    stack = prev;
    return items;
  };
  const push = (v: Value, off: number): void => {
    if (stack.length >= MAX_STACK) throw new ScanLimitError(`pickle stack deeper than ${MAX_STACK} at offset ${off}`);
    stack.push(v);
  };
  const need = async (n: number, off: number): Promise<void> => {
    if (!reader.has(n) && !(await reader.fill(n))) throw new Break(off, 'pickle data was truncated');
  };
  const readLine = async (off: number): Promise<Uint8Array> => {
    const i = await reader.findNewline(maxLine);
    if (i < 0) throw new Break(off, 'pickle exhausted before end of line');
    const line = reader.take(i);
    reader.skip(1);
    return line;
  };
  const lenArg = async (kind: 'bytes1' | 'bytes4' | 'bytes4s' | 'bytes8', off: number): Promise<number> => {
    const w = kind === 'bytes1' ? 1 : kind === 'bytes8' ? 8 : 4;
    await need(w, off);
    const b = reader.take(w);
    const dv = new DataView(b.buffer, b.byteOffset, w);
    if (w === 1) return b[0]!;
    if (w === 4) {
      const n = kind === 'bytes4s' ? dv.getInt32(0, true) : dv.getUint32(0, true);
      if (n < 0) throw new Break(off, 'BINSTRING pickle has negative byte count');
      return n;
    }
    const big = dv.getBigUint64(0, true);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Break(off, 'length exceeds maximum');
    return Number(big);
  };
  /** Reads `len` bytes of string data, materialising only what is needed. */
  const readData = async (len: number, off: number, keep: number): Promise<{ head: Uint8Array; full?: Uint8Array; dataOff: number }> => {
    if (reader.pos + len > reader.end) {
      throw new Break(off, 'pickle data was truncated');
    }
    const dataOff = reader.pos;
    if (len <= keep) {
      await need(len, off);
      const full = reader.take(len);
      return { head: full, full, dataOff };
    }
    await need(Math.min(len, 64), off);
    const head = reader.take(Math.min(len, 64)).slice();
    reader.skip(len - head.length);
    return { head, dataOff };
  };
  const doImport = (off: number, op: string, module: string, name: string): Value => {
    const verdict = classifyGlobal(module, name, opts.policy);
    const value = { t: 'global' as const, name: `${module}.${name}`, off, verdict };
    run.imports.push({ off, op, module, name, verdict, value });
    return value;
  };
  const call = (off: number, kind: CallKind, callee: Value, args: Value): Value => {
    run.calls.push({ off, kind, callee, args });
    return { t: 'obj', cls: callee, off, via: kind, args };
  };
  const tupleOf = (items: Value[]): Value => ({ t: 'tuple', items: items.slice(0, MAX_KEEP) });

  try {
    for (;;) {
      if (run.ops++ >= opts.maxOps) throw new ScanLimitError(`pickle executes more than ${opts.maxOps} operations`);
      if ((run.ops & 0xfffff) === 0) {
        // Let timers run (the time budget is an AbortSignal fired by a timer).
        await new Promise<void>((r) => setImmediate(r));
        if (opts.signal?.aborted) throw new ScanTimeoutError();
      }
      const off = reader.pos;
      if (!reader.has(1) && !(await reader.fill(1))) throw new Break(off, 'pickle exhausted before STOP');
      if (frameEnd >= 0 && off >= frameEnd) {
        if (off > frameEnd) run.frameIssues.push({ off, reason: 'an opcode straddles the end of its frame' });
        frameEnd = -1;
      }
      const code = reader.u8();
      const info = OPCODES[code];
      curOp = info?.name;
      if (!info) throw new Break(off, `invalid load key 0x${code.toString(16).padStart(2, '0')}`);
      switch (info.name) {
        case 'MARK':
          if (meta.length >= MAX_STACK) throw new ScanLimitError('too many nested marks');
          meta.push(stack);
          stack = [];
          break;
        case 'STOP': {
          run.result = pop(off);
          run.ok = true;
          run.end = reader.pos;
          if (frameEnd > reader.pos) run.frameIssues.push({ off, reason: 'STOP before the end of the current frame' });
          return run;
        }
        case 'POP':
          if (stack.length) stack.pop();
          else popMark(off);
          break;
        case 'POP_MARK':
          popMark(off);
          break;
        case 'DUP':
          push(top(off), off);
          break;
        case 'FLOAT': {
          const l = decodeLatin1(await readLine(off));
          if (!Number.isFinite(Number(l.trim())) && !/^\s*[+-]?(inf|nan|infinity)\s*$/i.test(l)) throw new Break(off, 'could not convert string to float');
          push({ t: 'float' }, off);
          break;
        }
        case 'INT': {
          const l = decodeLatin1(await readLine(off));
          if (l === '00' || l === '01') push({ t: 'bool', v: l === '01' }, off);
          else {
            const n = parseIntLine(l, false);
            if (n === undefined) throw new Break(off, 'invalid literal for int()');
            push({ t: 'int', v: n }, off);
          }
          break;
        }
        case 'LONG': {
          const n = parseIntLine(decodeLatin1(await readLine(off)), true);
          if (n === undefined) throw new Break(off, 'invalid literal for int()');
          push({ t: 'int', v: n }, off);
          break;
        }
        case 'BININT': {
          await need(4, off);
          const b = reader.take(4);
          push({ t: 'int', v: new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true) }, off);
          break;
        }
        case 'BININT1':
          await need(1, off);
          push({ t: 'int', v: reader.u8() }, off);
          break;
        case 'BININT2': {
          await need(2, off);
          const b = reader.take(2);
          push({ t: 'int', v: b[0]! | (b[1]! << 8) }, off);
          break;
        }
        case 'LONG1':
        case 'LONG4': {
          let n: number;
          if (info.name === 'LONG1') {
            await need(1, off);
            n = reader.u8();
          } else {
            await need(4, off);
            const b = reader.take(4);
            n = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
            if (n < 0) throw new Break(off, 'LONG pickle has negative byte count');
          }
          const { head, full } = await readData(n, off, 64);
          const bytes = full ?? head;
          let v = 0;
          if (n > 0 && n <= 7) {
            for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
            if (bytes[bytes.length - 1]! & 0x80) v -= 2 ** (8 * n);
          } else if (n > 7) v = Number.MAX_SAFE_INTEGER;
          push({ t: 'int', v }, off);
          break;
        }
        case 'BINFLOAT':
          await need(8, off);
          reader.skip(8);
          push({ t: 'float' }, off);
          break;
        case 'NONE':
          push({ t: 'none' }, off);
          break;
        case 'NEWTRUE':
        case 'NEWFALSE':
          push({ t: 'bool', v: info.name === 'NEWTRUE' }, off);
          break;
        case 'PERSID': {
          const pid = str(decodeLatin1(await readLine(off)));
          run.persids.push({ off, pid });
          push({ t: 'pid', off, pid }, off);
          break;
        }
        case 'BINPERSID': {
          const pid = pop(off);
          run.persids.push({ off, pid });
          push({ t: 'pid', off, pid }, off);
          break;
        }
        case 'STRING': {
          const s = decodeQuotedString(await readLine(off));
          if (s === undefined) throw new Break(off, 'the STRING opcode argument must be quoted');
          push(str(s), off);
          break;
        }
        case 'UNICODE': {
          const s = decodeRawUnicodeEscape(await readLine(off));
          if (s === undefined) throw new Break(off, 'truncated \\uXXXX escape');
          push(str(s), off);
          break;
        }
        case 'BINSTRING':
        case 'SHORT_BINSTRING':
        case 'BINUNICODE':
        case 'SHORT_BINUNICODE':
        case 'BINUNICODE8': {
          const n = await lenArg(info.arg as 'bytes1' | 'bytes4' | 'bytes4s' | 'bytes8', off);
          const { head, full } = await readData(n, off, 64 * 1024);
          const isUnicode = info.name.includes('UNICODE');
          const text = full ? (isUnicode ? decodeUtf8(full) : decodeLatin1(full)) : `${isUnicode ? decodeUtf8(head) : decodeLatin1(head)}…`;
          push(str(text), off);
          break;
        }
        case 'BINBYTES':
        case 'SHORT_BINBYTES':
        case 'BINBYTES8':
        case 'BYTEARRAY8': {
          const n = await lenArg(info.arg as 'bytes1' | 'bytes4' | 'bytes8', off);
          const { head, dataOff } = await readData(n, off, 64);
          if (n >= 2) run.nestedBytes.push({ off: dataOff, len: n, head });
          push({ t: 'bytes', off: dataOff, len: n, head }, off);
          break;
        }
        case 'NEXT_BUFFER':
          run.buffers.push(off);
          push({ t: 'opaque', what: 'out-of-band buffer' }, off);
          break;
        case 'READONLY_BUFFER':
          top(off);
          break;
        case 'APPEND': {
          const v = pop(off);
          const l = top(off);
          if (l.t === 'list') {
            if (l.items.length < MAX_KEEP) l.items.push(v);
            l.n++;
          }
          break;
        }
        case 'APPENDS': {
          const items = popMark(off);
          const l = top(off);
          if (l.t === 'list') {
            for (const v of items) if (l.items.length < MAX_KEEP) l.items.push(v);
            l.n += items.length;
          }
          break;
        }
        case 'LIST': {
          const items = popMark(off);
          push({ t: 'list', items: items.slice(0, MAX_KEEP), n: items.length }, off);
          break;
        }
        case 'EMPTY_LIST':
          push({ t: 'list', items: [], n: 0 }, off);
          break;
        case 'TUPLE':
          push(tupleOf(popMark(off)), off);
          break;
        case 'EMPTY_TUPLE':
          push({ t: 'tuple', items: [] }, off);
          break;
        case 'TUPLE1':
        case 'TUPLE2':
        case 'TUPLE3': {
          const n = info.name === 'TUPLE1' ? 1 : info.name === 'TUPLE2' ? 2 : 3;
          if (stack.length < n) throw new Break(off, 'unpickling stack underflow');
          push(tupleOf(stack.splice(stack.length - n, n)), off);
          break;
        }
        case 'DICT': {
          const items = popMark(off);
          const d: Value = { t: 'dict', entries: [], n: 0 };
          for (let i = 0; i + 1 < items.length; i += 2) {
            if (d.entries.length < MAX_KEEP) d.entries.push([items[i]!, items[i + 1]!]);
            d.n++;
          }
          push(d, off);
          break;
        }
        case 'EMPTY_DICT':
          push({ t: 'dict', entries: [], n: 0 }, off);
          break;
        case 'SETITEM': {
          const v = pop(off);
          const k = pop(off);
          const d = top(off);
          if (d.t === 'dict') {
            if (d.entries.length < MAX_KEEP) d.entries.push([k, v]);
            d.n++;
          }
          break;
        }
        case 'SETITEMS': {
          const items = popMark(off);
          const d = top(off);
          if (d.t === 'dict') {
            for (let i = 0; i + 1 < items.length; i += 2) {
              if (d.entries.length < MAX_KEEP) d.entries.push([items[i]!, items[i + 1]!]);
              d.n++;
            }
          }
          break;
        }
        case 'EMPTY_SET':
          push({ t: 'set', n: 0 }, off);
          break;
        case 'ADDITEMS': {
          const items = popMark(off);
          const s = top(off);
          if (s.t === 'set') s.n += items.length;
          break;
        }
        case 'FROZENSET': {
          const items = popMark(off);
          push({ t: 'set', n: items.length }, off);
          break;
        }
        case 'GLOBAL':
        case 'INST': {
          const module = decodeUtf8(await readLine(off));
          const name = decodeUtf8(await readLine(off));
          const g = doImport(off, info.name, module, name);
          if (info.name === 'GLOBAL') push(g, off);
          else {
            const args = popMark(off);
            push(call(off, 'INST', g, tupleOf(args)), off);
          }
          break;
        }
        case 'STACK_GLOBAL': {
          const name = pop(off);
          const module = pop(off);
          if (module.t !== 'str' || name.t !== 'str') {
            // CPython accepts only str here. A computed value (a call result) that is a str is
            // possible through allowed callables, so this is recorded as a dynamic import.
            const computed = (v: Value): boolean => v.t === 'obj' || v.t === 'pid' || v.t === 'ext' || v.t === 'opaque';
            if (computed(module) || computed(name)) {
              run.dynamicGlobals.push({ off, module, name });
              push({ t: 'global', name: `${describe(module)}.${describe(name)}`, off, verdict: { klass: 'dangerous', resolved: '<computed>', reason: 'module or name computed at load time', attributeWalk: false } }, off);
              break;
            }
            throw new Break(off, 'STACK_GLOBAL requires str');
          }
          push(doImport(off, 'STACK_GLOBAL', module.v, name.v), off);
          break;
        }
        case 'EXT1':
        case 'EXT2':
        case 'EXT4': {
          const w = info.name === 'EXT1' ? 1 : info.name === 'EXT2' ? 2 : 4;
          await need(w, off);
          const b = reader.take(w);
          const codeNum = w === 1 ? b[0]! : w === 2 ? b[0]! | (b[1]! << 8) : new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
          run.exts.push({ off, code: codeNum });
          push({ t: 'ext', code: codeNum, off }, off);
          break;
        }
        case 'REDUCE': {
          const args = pop(off);
          const fn = pop(off);
          push(call(off, 'REDUCE', fn, args), off);
          break;
        }
        case 'OBJ': {
          const items = popMark(off);
          const cls = items[0];
          if (!cls) throw new Break(off, 'OBJ without a class');
          push(call(off, 'OBJ', cls, tupleOf(items.slice(1))), off);
          break;
        }
        case 'NEWOBJ': {
          const args = pop(off);
          const cls = pop(off);
          push(call(off, 'NEWOBJ', cls, args), off);
          break;
        }
        case 'NEWOBJ_EX': {
          const kwargs = pop(off);
          const args = pop(off);
          const cls = pop(off);
          push(call(off, 'NEWOBJ_EX', cls, { t: 'tuple', items: [args, kwargs] }), off);
          break;
        }
        case 'BUILD': {
          const state = pop(off);
          const target = top(off);
          const ev = { off, target, state };
          run.builds.push(ev);
          if (opts.hooks?.afterBuild) await opts.hooks.afterBuild(ev, reader);
          break;
        }
        case 'GET':
        case 'BINGET':
        case 'LONG_BINGET': {
          let idx: number | undefined;
          if (info.name === 'GET') idx = parseIntLine(decodeLatin1(await readLine(off)), false);
          else if (info.name === 'BINGET') {
            await need(1, off);
            idx = reader.u8();
          } else {
            await need(4, off);
            const b = reader.take(4);
            idx = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
          }
          const v = idx === undefined ? undefined : memo.get(idx);
          if (v === undefined) throw new Break(off, `memo key ${idx ?? '?'} not found`);
          push(v, off);
          break;
        }
        case 'PUT':
        case 'BINPUT':
        case 'LONG_BINPUT':
        case 'MEMOIZE': {
          let idx: number | undefined;
          if (info.name === 'PUT') idx = parseIntLine(decodeLatin1(await readLine(off)), false);
          else if (info.name === 'BINPUT') {
            await need(1, off);
            idx = reader.u8();
          } else if (info.name === 'LONG_BINPUT') {
            await need(4, off);
            const b = reader.take(4);
            idx = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
          } else idx = memo.size;
          if (idx === undefined || idx < 0) throw new Break(off, 'negative or invalid memo index');
          if (memo.size >= MAX_MEMO) throw new ScanLimitError('pickle memo too large');
          memo.set(idx, top(off));
          break;
        }
        case 'PROTO': {
          await need(1, off);
          const p = reader.u8();
          if (p > HIGHEST_PROTOCOL) throw new Break(off, `unsupported pickle protocol: ${p}`);
          run.protocol = p;
          break;
        }
        case 'FRAME': {
          await need(8, off);
          const b = reader.take(8);
          const big = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
          if (frameEnd > reader.pos) run.frameIssues.push({ off, reason: 'a new frame starts before the end of the current frame' });
          if (big > BigInt(reader.end - reader.pos)) {
            run.frameIssues.push({ off, reason: 'frame extends past the end of the data' });
            throw new Break(off, 'pickle data was truncated (frame longer than the data)');
          }
          frameEnd = reader.pos + Number(big);
          break;
        }
        default:
          throw new Break(off, `unhandled opcode ${info.name}`);
      }
    }
  } catch (e) {
    if (e instanceof Break) {
      run.error = { off: e.off, reason: e.reason, opcode: curOp };
      run.end = Math.max(e.off, Math.min(reader.pos, reader.end));
      return run;
    }
    throw e;
  }
}

export { StreamReader };
