// A lazy reader of the protobuf wire format over a ByteSource (encoding spec:
// https://protobuf.dev/programming-guides/encoding/). The ONNX and SavedModel analyzers walk only
// the fields they need (graph nodes, op types, domains, external-data entries) and skip the rest,
// so tensor payloads (`raw_data`, tensor contents) are never read and a multi-gigabyte model costs
// a few small reads. Every length is checked against its enclosing message; the nesting depth is
// bounded by the callers.
import type { ByteSource } from '../types.js';
import { decodeUtf8, readRange } from './model-io.js';

export class ProtoError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface ProtoField {
  no: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wire: number;
  /** Start of the value (for wire 2, of its content). */
  start: number;
  /** End of the value. */
  end: number;
  /** The value of a varint field (clamped to 2^53). */
  value: number;
}

const WINDOW = 64 * 1024;

export class ProtoReader {
  private buf: Uint8Array = new Uint8Array(0);
  private bufOff = 0;
  /** Fields visited (for the time/abort checks). */
  private visited = 0;
  constructor(
    readonly src: ByteSource,
    private readonly signal?: AbortSignal,
  ) {}

  private async byteAt(pos: number): Promise<number> {
    if (pos < this.bufOff || pos >= this.bufOff + this.buf.length) {
      this.bufOff = pos;
      this.buf = await readRange(this.src, pos, WINDOW);
      if (this.buf.length === 0) throw new ProtoError(`unexpected end of data at ${pos}`, pos);
    }
    return this.buf[pos - this.bufOff]!;
  }

  /** Reads a varint at pos; returns its value and the position after it. */
  async varint(pos: number, end: number): Promise<[number, number]> {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new ProtoError(`varint runs past the end of its message at ${pos}`, pos);
      const b = await this.byteAt(pos++);
      if (mul < 2 ** 53) v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return [Math.min(v, Number.MAX_SAFE_INTEGER), pos];
    }
    throw new ProtoError(`varint longer than 10 bytes at ${pos}`, pos);
  }

  /** Iterates the fields of the message occupying [start, end). */
  async *fields(start: number, end: number): AsyncGenerator<ProtoField> {
    let pos = start;
    while (pos < end) {
      if ((++this.visited & 0x3ff) === 0 && this.signal?.aborted) throw new ProtoError('scan aborted', pos);
      const at = pos;
      const [tag, p1] = await this.varint(pos, end);
      const no = Math.floor(tag / 8);
      const wire = tag & 7;
      if (no === 0) throw new ProtoError(`field number 0 at ${at}`, at);
      pos = p1;
      if (wire === 0) {
        const [value, p2] = await this.varint(pos, end);
        yield { no, wire, start: pos, end: p2, value };
        pos = p2;
      } else if (wire === 1 || wire === 5) {
        const n = wire === 1 ? 8 : 4;
        if (pos + n > end) throw new ProtoError(`fixed field runs past the end of its message at ${at}`, at);
        yield { no, wire, start: pos, end: pos + n, value: 0 };
        pos += n;
      } else if (wire === 2) {
        const [len, p2] = await this.varint(pos, end);
        if (p2 + len > end) throw new ProtoError(`field ${no} of ${len} bytes at ${at} runs past the end of its message`, at);
        yield { no, wire, start: p2, end: p2 + len, value: len };
        pos = p2 + len;
      } else {
        throw new ProtoError(`unsupported wire type ${wire} at ${at}`, at);
      }
    }
  }

  /** The content of a length-delimited field as UTF-8 (clipped to `max` bytes). */
  async string(f: ProtoField, max = 4096): Promise<string> {
    const bytes = await readRange(this.src, f.start, Math.min(f.end - f.start, max));
    return decodeUtf8(bytes) ?? new TextDecoder().decode(bytes);
  }

  async bytes(f: ProtoField, max: number): Promise<Uint8Array> {
    return readRange(this.src, f.start, Math.min(f.end - f.start, max));
  }
}

/**
 * Checks that `head` parses as a sequence of fields whose numbers and wire types are in `allowed`
 * (number → wire type) and returns the field numbers seen. A field running past `head` ends the
 * walk without failing. Returns undefined when it does not parse.
 */
export function probeFields(head: Uint8Array, allowed: ReadonlyMap<number, number>, maxFields = 64): number[] | undefined {
  const seen: number[] = [];
  let pos = 0;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && pos < head.length; i++) {
      const b = head[pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (pos < head.length && seen.length < maxFields) {
    const tag = varint();
    if (tag === undefined) return seen.length ? seen : undefined;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (allowed.get(no) !== wire) return undefined;
    seen.push(no);
    if (wire === 0) {
      if (varint() === undefined) return seen;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined) return seen;
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
  }
  return seen;
}
