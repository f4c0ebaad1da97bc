// Decoders for the textual arguments of protocol 0 opcodes, following CPython: STRING holds a
// quoted Python 2 string literal decoded with escape sequences, UNICODE holds raw-unicode-escape
// text, GLOBAL/INST lines are UTF-8. Exact decoding matters: `V\u006fs` is the string "os".

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}

export function decodeLatin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** raw-unicode-escape: only \uXXXX and \UXXXXXXXX are escapes; every other byte is Latin-1. */
export function decodeRawUnicodeEscape(b: Uint8Array): string | undefined {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x5c && i + 1 < b.length && (b[i + 1] === 0x75 || b[i + 1] === 0x55)) {
      // An odd number of backslashes before u starts an escape; an even number does not.
      let k = i;
      while (k > 0 && b[k - 1] === 0x5c) k--;
      if ((i - k) % 2 === 0) {
        const n = b[i + 1] === 0x75 ? 4 : 8;
        const hex = decodeLatin1(b.subarray(i + 2, i + 2 + n));
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) return undefined;
        out += String.fromCodePoint(cp);
        i += 1 + n;
        continue;
      }
    }
    out += String.fromCharCode(c);
  }
  return out;
}

/** Body of a STRING opcode: a quoted literal with Python escape sequences. */
export function decodeQuotedString(line: Uint8Array): string | undefined {
  if (line.length < 2) return undefined;
  const q = line[0]!;
  if ((q !== 0x22 && q !== 0x27) || line[line.length - 1] !== q) return undefined;
  const b = line.subarray(1, line.length - 1);
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    i++;
    if (i >= b.length) return undefined; // trailing backslash: "Trailing \ in string"
    const e = String.fromCharCode(b[i]!);
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };
    if (e in simple) {
      out += simple[e];
    } else if (e === 'x') {
      const hex = decodeLatin1(b.subarray(i + 1, i + 3));
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let oct = e;
      while (oct.length < 3 && i + 1 < b.length && b[i + 1]! >= 0x30 && b[i + 1]! <= 0x37) oct += String.fromCharCode(b[++i]!);
      out += String.fromCharCode(parseInt(oct, 8) & 0xff);
    } else {
      out += `\\${e}`;
    }
  }
  return out;
}

/** Python int() of a decimal line (INT, LONG, GET, PUT); undefined when Python would reject it. */
export function parseIntLine(s: string, allowL: boolean): number | undefined {
  let t = s.trim();
  if (allowL && t.endsWith('L')) t = t.slice(0, -1);
  t = t.replace(/_/g, '');
  if (!/^[+-]?\d+$/.test(t)) return undefined;
  return Number(t);
}
