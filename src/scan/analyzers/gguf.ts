// GGUF analyzer (ggml's model format, spec: ggml docs/gguf.md). Layout: magic "GGUF", uint32
// version (1–3), tensor count and metadata KV count (uint32 in v1, uint64 after), KV pairs (string
// key, uint32 value type, typed value; strings are a length then UTF-8 bytes, uint32 lengths in
// v1), then tensor infos (name, n_dims, dims, ggml type, offset) and the aligned tensor data.
// Every count and length is checked against what the rest of the file can hold before anything is
// allocated: GGUF parsers have had heap overflows on exactly these fields. The chat templates
// (`tokenizer.chat_template`, `tokenizer.chat_template.<name>`) are Jinja programs and are checked
// for template injection (jinja-template.ts). Tensor data is never read.
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { reportTemplate } from './jinja-template.js';
import { clip, decodeUtf8, readRange } from './model-io.js';

const DOCS = 'docs/rules.md#gguf';
const SPEC = 'https://github.com/ggml-org/ggml/blob/master/docs/gguf.md';

export const GGUF_RULES = defineRules([
  {
    id: 'RMP-GGUF-001',
    severity: 'high',
    title: 'GGUF header or metadata is malformed',
    description:
      'The GGUF header, a metadata entry or a tensor info is invalid: unknown version or value type, a count or length larger than the file can hold, invalid UTF-8, or a truncated file. GGUF parsers have had memory-corruption bugs on such fields (e.g. the llama.cpp gguf parser heap overflows reported in 2024).',
    remediation: 'Do not load the file; obtain it again from a trusted source.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-GGUF-002',
    severity: 'high',
    title: 'GGUF metadata is oversized',
    description: 'A metadata string, array or count exceeds the scanner\'s bounds (strings over 16 MiB, arrays over 50 million elements, nesting deeper than 4); such values exist to exhaust memory.',
    remediation: 'Do not load the file; obtain it again from a trusted source.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-GGUF-003',
    severity: 'high',
    title: 'GGUF tensor info points outside the file',
    description: 'A tensor\'s offset and size (dims × ggml type size) reach past the end of the file, or its dimensions overflow.',
    remediation: 'Do not load the file; obtain it again from a trusted source.',
    links: [DOCS, SPEC],
  },
] as const);

const MAX_STRING = 16 * 1024 * 1024;
const MAX_ARRAY = 50_000_000;
const MAX_NESTING = 4;
const MAX_DIMS = 8;

/** GGUF metadata value types (gguf.md `gguf_metadata_value_type`). */
const enum VT {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** ggml tensor types whose block layout is stable: [elements per block, bytes per block]. */
const GGML_TYPE: Record<number, [number, number]> = {
  0: [1, 4], // F32
  1: [1, 2], // F16
  2: [32, 18], // Q4_0
  3: [32, 20], // Q4_1
  6: [32, 22], // Q5_0
  7: [32, 24], // Q5_1
  8: [32, 34], // Q8_0
  9: [32, 36], // Q8_1
  10: [256, 84], // Q2_K
  11: [256, 110], // Q3_K
  12: [256, 144], // Q4_K
  13: [256, 176], // Q5_K
  14: [256, 210], // Q6_K
  15: [256, 292], // Q8_K
  24: [1, 1], // I8
  25: [1, 2], // I16
  26: [1, 4], // I32
  27: [1, 8], // I64
  28: [1, 8], // F64
  30: [1, 2], // BF16
};

class Malformed extends Error {
  constructor(
    readonly ruleId: 'RMP-GGUF-001' | 'RMP-GGUF-002',
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Sequential reader over a ByteSource with a refillable window, so KV walks stay cheap. */
class Reader {
  pos: number;
  private buf: Uint8Array = new Uint8Array(0);
  private bufOff = 0;
  constructor(
    private readonly src: ByteSource,
    start: number,
    readonly little: boolean,
    private readonly signal: AbortSignal,
  ) {
    this.pos = start;
  }
  get remaining(): number {
    return this.src.size - this.pos;
  }
  async need(n: number): Promise<void> {
    if (n > this.remaining) throw new Malformed('RMP-GGUF-001', `file ends at ${this.src.size}, ${n} more bytes needed at ${this.pos}`, this.pos);
    if (this.pos >= this.bufOff && this.pos + n <= this.bufOff + this.buf.length) return;
    if (this.signal.aborted) throw new Malformed('RMP-GGUF-001', 'scan aborted', this.pos);
    this.bufOff = this.pos;
    this.buf = await readRange(this.src, this.pos, Math.max(n, 1 << 20));
  }
  private view(n: number): DataView {
    const o = this.pos - this.bufOff;
    this.pos += n;
    return new DataView(this.buf.buffer, this.buf.byteOffset + o, n);
  }
  async u32(): Promise<number> {
    await this.need(4);
    return this.view(4).getUint32(0, this.little);
  }
  async u64(): Promise<number> {
    await this.need(8);
    const v = this.view(8).getBigUint64(0, this.little);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  async bytes(n: number): Promise<Uint8Array> {
    await this.need(n);
    const o = this.pos - this.bufOff;
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }
  async skip(n: number): Promise<void> {
    if (n > this.remaining) throw new Malformed('RMP-GGUF-001', `value of ${n} bytes at ${this.pos} runs past the end of the file`, this.pos);
    this.pos += n;
  }
}

interface Header {
  version: number;
  little: boolean;
}

function parseMagic(head: Uint8Array): Header | undefined {
  if (head.length < 8 || head[0] !== 0x47 || head[1] !== 0x47 || head[2] !== 0x55 || head[3] !== 0x46) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset + 4, 4);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le >= 1 && le <= 3) return { version: le, little: true };
  if (be >= 1 && be <= 3) return { version: be, little: false };
  return { version: le, little: true };
}

export const ggufAnalyzer: Analyzer = {
  id: 'gguf',
  format: 'GGUF',
  detect(head) {
    return parseMagic(head) !== undefined;
  },
  async analyze(source, ctx) {
    const head = await readRange(source, 0, 8);
    const h = parseMagic(head);
    if (!h || h.version < 1 || h.version > 3) {
      ctx.report({ ruleId: 'RMP-GGUF-001', message: `Unsupported GGUF version ${h?.version ?? 'missing'}`, location: { offset: 4 } });
      return;
    }
    try {
      await walk(source, ctx, h);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      ctx.report({ ruleId: e.ruleId, message: e.message, location: { offset: e.offset } });
    }
  },
};

async function walk(source: ByteSource, ctx: AnalyzeContext, h: Header): Promise<void> {
  const r = new Reader(source, 8, h.little, ctx.signal);
  const v1 = h.version === 1;
  const count = async (): Promise<number> => (v1 ? r.u32() : r.u64());
  const readString = async (what: string): Promise<string> => {
    const at = r.pos;
    const len = await count();
    if (len > r.remaining) throw new Malformed('RMP-GGUF-001', `${what}: string length ${len} at ${at} is larger than the rest of the file`, at);
    if (len > MAX_STRING) throw new Malformed('RMP-GGUF-002', `${what}: string of ${len} bytes at ${at} exceeds ${MAX_STRING}`, at);
    const s = decodeUtf8(await r.bytes(len));
    if (s === undefined) throw new Malformed('RMP-GGUF-001', `${what}: invalid UTF-8 at ${at}`, at);
    return s;
  };
  const tensorCount = await count();
  const kvCount = await count();
  // Each KV needs at least a key length, one key byte, a type and a one-byte value; each tensor
  // info at least a name length, n_dims, one dim, a type and an offset.
  if (kvCount * (v1 ? 10 : 14) > r.remaining) throw new Malformed('RMP-GGUF-001', `metadata count ${kvCount} cannot fit in the file`, 8);
  if (tensorCount * (v1 ? 24 : 32) > r.remaining) throw new Malformed('RMP-GGUF-001', `tensor count ${tensorCount} cannot fit in the file`, 8);

  let alignment = 32;
  const skipValue = async (type: number, depth: number, key: string): Promise<string | number | undefined> => {
    const fixed = FIXED_SIZE[type];
    if (fixed !== undefined) {
      if (type === VT.U32 && key === 'general.alignment') return r.u32();
      await r.skip(fixed);
      return undefined;
    }
    if (type === VT.STRING) return readString(`value of ${clip(key, 60)}`);
    if (type === VT.ARRAY) {
      if (depth >= MAX_NESTING) throw new Malformed('RMP-GGUF-002', `${clip(key, 60)}: arrays nested deeper than ${MAX_NESTING}`, r.pos);
      const at = r.pos;
      const et = await r.u32();
      const n = await count();
      if (n > MAX_ARRAY) throw new Malformed('RMP-GGUF-002', `${clip(key, 60)}: array of ${n} elements at ${at} exceeds ${MAX_ARRAY}`, at);
      const ef = FIXED_SIZE[et];
      if (ef !== undefined) {
        if (n * ef > r.remaining) throw new Malformed('RMP-GGUF-001', `${clip(key, 60)}: array of ${n} elements at ${at} runs past the end of the file`, at);
        await r.skip(n * ef);
        return undefined;
      }
      if (et !== VT.STRING && et !== VT.ARRAY) throw new Malformed('RMP-GGUF-001', `${clip(key, 60)}: unknown array element type ${et} at ${at}`, at);
      if (n * (v1 ? 4 : 8) > r.remaining) throw new Malformed('RMP-GGUF-001', `${clip(key, 60)}: array of ${n} elements at ${at} cannot fit in the file`, at);
      for (let i = 0; i < n; i++) {
        if ((i & 0xfff) === 0 && ctx.signal.aborted) throw new Malformed('RMP-GGUF-001', 'scan aborted', r.pos);
        if (et === VT.STRING) {
          const len = await count();
          if (len > r.remaining) throw new Malformed('RMP-GGUF-001', `${clip(key, 60)}[${i}]: string length ${len} runs past the end of the file`, r.pos - 8);
          if (len > MAX_STRING) throw new Malformed('RMP-GGUF-002', `${clip(key, 60)}[${i}]: string of ${len} bytes exceeds ${MAX_STRING}`, r.pos - 8);
          await r.skip(len);
        } else await skipValue(VT.ARRAY, depth + 1, key);
      }
      return undefined;
    }
    throw new Malformed('RMP-GGUF-001', `${clip(key, 60)}: unknown value type ${type} at ${r.pos - 4}`, r.pos - 4);
  };

  for (let i = 0; i < kvCount; i++) {
    const keyAt = r.pos;
    const key = await readString(`metadata key #${i}`);
    const type = await r.u32();
    const valueAt = r.pos;
    const value = await skipValue(type, 0, key);
    if (key === 'general.alignment' && typeof value === 'number') {
      if (value === 0 || (value & (value - 1)) !== 0) throw new Malformed('RMP-GGUF-001', `general.alignment ${value} is not a power of two`, valueAt);
      alignment = value;
    }
    if ((key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.')) && typeof value === 'string') {
      reportTemplate(ctx, key, value, valueAt);
    } else if (key.startsWith('tokenizer.chat_template') && type !== VT.STRING && key !== 'tokenizer.chat_templates') {
      ctx.report({ ruleId: 'RMP-GGUF-001', message: `${clip(key, 60)} is not a string`, location: { offset: keyAt, record: key } });
    }
  }

  const tensors: Array<{ name: string; bytes: number | undefined; offset: number; at: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const at = r.pos;
    const name = await readString(`tensor #${i} name`);
    const nd = await r.u32();
    if (nd > MAX_DIMS) throw new Malformed('RMP-GGUF-001', `tensor ${clip(name, 60)} has ${nd} dimensions`, at);
    let elements = 1;
    for (let d = 0; d < nd; d++) {
      const dim = v1 ? await r.u32() : await r.u64();
      elements *= dim;
    }
    const type = await r.u32();
    const offset = await r.u64();
    const layout = GGML_TYPE[type];
    let bytes: number | undefined;
    if (layout) bytes = Number.isSafeInteger(elements) ? Math.ceil(elements / layout[0]) * layout[1] : Number.POSITIVE_INFINITY;
    tensors.push({ name, bytes, offset, at });
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  let reported = 0;
  for (const t of tensors) {
    const end = dataStart + t.offset + (t.bytes ?? 0);
    if (!Number.isFinite(end) || end > source.size || t.offset % alignment !== 0) {
      reported++;
      if (reported <= 20) {
        ctx.report({
          ruleId: 'RMP-GGUF-003',
          message:
            t.offset % alignment !== 0
              ? `Tensor ${clip(t.name, 60)} offset ${t.offset} is not aligned to ${alignment}`
              : `Tensor ${clip(t.name, 60)} (offset ${t.offset}, ${t.bytes ?? '?'} bytes) reaches past the end of the file (${source.size} bytes)`,
          location: { offset: t.at, record: t.name },
          details: { offset: t.offset, bytes: Number.isFinite(t.bytes ?? 0) ? t.bytes ?? null : null, dataStart },
        });
      }
    }
  }
  if (reported > 20) ctx.report({ ruleId: 'RMP-GGUF-003', message: `${reported - 20} more tensor(s) out of bounds`, location: { offset: 8 } });
}
