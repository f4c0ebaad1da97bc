// Small helpers shared by the model-format analyzers (safetensors, GGUF, ONNX, Keras, SavedModel):
// bounded whole-range reads and strict UTF-8 decoding. Reads never go past the limits the caller
// gives, so a hostile length field cannot make an analyzer allocate gigabytes.

export { readRange } from '../byte-source.js';

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
