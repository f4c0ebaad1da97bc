// Header names the gateway meets on almost every request and response, recognised in place: a
// name read from the wire is otherwise a new string (slice, then lower-case) that V8 must hash and
// intern when it becomes a property key, for every header of every message. A known name comes
// back as the literal below instead, already interned.

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
