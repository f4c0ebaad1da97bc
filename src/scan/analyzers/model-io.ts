// Small helpers shared by the model-format analyzers (safetensors, GGUF, ONNX, Keras, SavedModel):
// bounded whole-range reads and strict UTF-8 decoding. Reads never go past the limits the caller
// gives, so a hostile length field cannot make an analyzer allocate gigabytes.
import type { ByteSource } from '../types.js';

/** Reads exactly `length` bytes at `offset`, or fewer when the source ends early. */
export async function readRange(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  if (length <= 0 || offset >= source.size) return new Uint8Array(0);
  const first = await source.read(offset, length);
  if (first.length >= length || offset + first.length >= source.size) return first;
  // A source may serve large reads in pieces; join them.
  const out = new Uint8Array(Math.min(length, source.size - offset));
  out.set(first, 0);
  let got = first.length;
  while (got < out.length) {
    const part = await source.read(offset + got, out.length - got);
    if (part.length === 0) break;
    out.set(part, got);
    got += part.length;
  }
  return out.subarray(0, got);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, returning undefined on invalid sequences instead of replacing them. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Shortens a string for a message, keeping it on one line. */
export function clip(s: string, max = 120): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
