// Builds safetensors files in memory (format: 8-byte LE header length, JSON header, data).
export interface StTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function buildSafetensors(
  tensors: Record<string, StTensor>,
  metadata?: Record<string, unknown>,
  opts: { pad?: number; trailing?: Uint8Array; mutateHeader?: (h: Record<string, unknown>) => void } = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    parts.push(t.data);
    off += t.data.length;
  }
  opts.mutateHeader?.(header);
  let json = JSON.stringify(header);
  // Align the data section to 8 bytes with spaces, as the reference writer does.
  const padTo = opts.pad ?? 8;
  while ((8 + Buffer.byteLength(json)) % padTo !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const total = 8 + hb.length + off + (opts.trailing?.length ?? 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const d of parts) {
    out.set(d, p);
    p += d.length;
  }
  if (opts.trailing) out.set(opts.trailing, p);
  return out;
}

/** A realistic small state dict: an embedding, a linear layer in F32, a BF16 norm. */
export function benignSafetensors(): Uint8Array {
  const f32 = (n: number): Uint8Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i) * 0.02;
    return new Uint8Array(a.buffer);
  };
  return buildSafetensors(
    {
      'model.embed_tokens.weight': { dtype: 'F32', shape: [16, 8], data: f32(128) },
      'model.layers.0.mlp.down_proj.weight': { dtype: 'F32', shape: [8, 8], data: f32(64) },
      'model.norm.weight': { dtype: 'BF16', shape: [8], data: new Uint8Array(16).fill(0x3f) },
      'model.layers.0.mlp.down_proj.bias': { dtype: 'F16', shape: [0], data: new Uint8Array(0) },
    },
    { format: 'pt' },
  );
}
