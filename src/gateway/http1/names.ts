// Header names, shared by the HTTP/1.1 front and the upstream client: the token characters they
// are made of, and the names the gateway meets on almost every request and response, recognised in
// place: a name read from the wire is otherwise a new string (slice, then lower-case) that V8 must
// hash and intern when it becomes a property key, for every header of every message. A known name
// comes back as the literal below instead, already interned.

/** tchar (RFC 9110, 5.6.2), indexed by char code: 1 for the characters a token may hold. */
export const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** Whether s[start..end) is a token (non-empty, tchar only). */
export function isTokenAt(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

const KNOWN = [
  'host',
  'date',
  'accept',
  'server',
  'cookie',
  'expect',
  'upgrade',
  'x-api-key',
  'connection',
  'user-agent',
  'keep-alive',
  'content-type',
  'x-request-id',
  'authorization',
  'cache-control',
  'content-length',
  'accept-encoding',
  'accept-language',
  'x-forwarded-for',
  'content-encoding',
  'x-forwarded-proto',
  'transfer-encoding',
] as const;

/** The known names by length. */
const BY_LENGTH: string[][] = [];
for (const name of KNOWN) (BY_LENGTH[name.length] ??= []).push(name);

/**
 * The lower-case name for the header name `s[start..end)` (token characters, checked by the
 * caller): a known name's literal when it is one, in any letter case; otherwise a new string.
 */
export function headerName(s: string, start: number, end: number): string {
  const candidates = BY_LENGTH[end - start];
  if (candidates !== undefined) {
    for (const name of candidates) {
      let k = 0;
      // ORing 0x20 lower-cases a letter; the other token characters of these names ('-') keep
      // their code, and no token character ORs into a letter or '-' it is not.
      while (k < name.length && (s.charCodeAt(start + k) | 0x20) === name.charCodeAt(k)) k++;
      if (k === name.length) return name;
    }
  }
  return s.slice(start, end).toLowerCase();
}
