// Magic-byte tests shared by analyzers (and used to decide whether a nested byte string is worth
// scanning as a child).

export function startsWith(head: Uint8Array, sig: number[], at = 0): boolean {
  if (head.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (head[at + i] !== sig[i]) return false;
  return true;
}

export const isZipHead = (h: Uint8Array) => startsWith(h, [0x50, 0x4b, 0x03, 0x04]) || startsWith(h, [0x50, 0x4b, 0x05, 0x06]);
export const isGzipHead = (h: Uint8Array) => startsWith(h, [0x1f, 0x8b, 0x08]);
export const isBzip2Head = (h: Uint8Array) =>
  startsWith(h, [0x42, 0x5a, 0x68]) && h.length >= 10 && h[3]! >= 0x31 && h[3]! <= 0x39 &&
  (startsWith(h, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4) || startsWith(h, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90], 4));
export const isXzHead = (h: Uint8Array) => startsWith(h, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
export const isNpyHead = (h: Uint8Array) => startsWith(h, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
export const isTarHead = (h: Uint8Array) => h.length >= 263 && startsWith(h, [0x75, 0x73, 0x74, 0x61, 0x72], 257);

/** zlib stream header (RFC 1950): deflate method, window <= 32K, FCHECK valid, no preset dictionary. */
export function isZlibHead(h: Uint8Array): boolean {
  if (h.length < 2) return false;
  const cmf = h[0]!;
  const flg = h[1]!;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0 && (flg & 0x20) === 0;
}

/** LZMA "alone" (.lzma) header: properties byte, dictionary size, 64-bit uncompressed size. */
export function isLzmaAloneHead(h: Uint8Array): boolean {
  if (h.length < 13) return false;
  if (h[0]! >= 225) return false;
  const dict = (h[1]! | (h[2]! << 8) | (h[3]! << 16) | (h[4]! << 24)) >>> 0;
  // Dictionary sizes written by liblzma/Python: 2^n or 2^n + 2^(n-1).
  let ok = false;
  for (let n = 12; n <= 30 && !ok; n++) ok = dict === 2 ** n || dict === 2 ** n + 2 ** (n - 1);
  if (!ok) return false;
  const allFF = h.subarray(5, 13).every((b) => b === 0xff);
  return allFF || h[12] === 0;
}

/** Formats worth scanning when met inside a pickle byte string. */
export function looksLikeKnownContainer(h: Uint8Array): boolean {
  return isZipHead(h) || isGzipHead(h) || isBzip2Head(h) || isXzHead(h) || isNpyHead(h);
}
