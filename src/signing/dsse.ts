// DSSE pre-authentication encoding (PAE), the bytes a DSSE signature covers
// (secure-systems-lab/dsse protocol v1.0.0): "DSSEv1" SP len(type) SP type SP len(body) SP body.
// Also the variant the model-signing reference v0.2 produced by mistake (it formatted the Python
// repr of the payload bytes into the string, with "DSSEV1"); the reference still verifies it, and
// so do we — only ever as a fallback for verification, never for signing.

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([head, payload]);
}

/** Python's repr() of a bytes object: b'...' with escapes, quote chosen as Python does. */
export function pythonBytesRepr(b: Buffer): string {
  const quote = b.includes(0x27) && !b.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const c of b) {
    if (c === quote.charCodeAt(0) || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}${quote}`;
}

/** The PAE bytes of model-signing v0.2 (bug-compatible; payload type length in characters). */
export function paeCompatV02(payloadType: string, payload: Buffer): Buffer {
  return Buffer.from(`DSSEV1 ${payloadType.length} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`, 'utf8');
}
