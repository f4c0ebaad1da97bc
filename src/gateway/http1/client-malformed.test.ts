// The response parser against crafted bytes from a raw TCP server: every malformed answer is a
// coded error that the gateway maps to 502, the pool keeps serving; valid answers split at any byte
// position parse the same; random garbage never crashes and never parses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../detect/random.js';
import { UpstreamUnavailableError } from '../errors.js';
import { upstreamError } from '../upstream.js';
import { createHttp1Pool, type Http1Pool, type UpstreamResponse } from './client.js';
import { rawServer, readAll, sleep, type RawRequest, type RawServer } from './testing/servers.js';

/** What the raw server sends for a path: bytes, written in the given pieces with a pause between, then maybe closing. */
interface Script {
  pieces: Buffer[];
  end?: boolean;
}
const scripts = new Map<string, Script>();

let server: RawServer;
let pool: Http1Pool;

async function play(req: RawRequest): Promise<void> {
  const s = scripts.get(req.path);
  if (!s) {
    req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    return;
  }
  for (let i = 0; i < s.pieces.length; i++) {
    if (i > 0) await sleep(1);
    if (req.socket.destroyed) return;
    req.socket.write(s.pieces[i]!);
  }
  if (s.end) req.socket.end();
}

beforeAll(async () => {
  server = await rawServer((req) => void play(req));
  pool = createHttp1Pool(server.url, { connections: 4, headersTimeout: 2000, bodyTimeout: 2000 });
});
afterAll(async () => {
  await pool.destroy();
  await server.close();
});

let nextId = 0;
function script(pieces: (string | Buffer)[], end = false): string {
  const path = `/s/${nextId++}`;
  scripts.set(path, { pieces: pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)), end });
  return path;
}

/** Sends a request and reads the whole body; the outcome as data (status + body, or the error code). */
async function outcome(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[]>; body: string } | { code: string }> {
  let r: UpstreamResponse;
  try {
    r = await pool.request({ method, path, headers: {} });
  } catch (e) {
    return { code: String((e as { code?: unknown }).code) };
  }
  try {
    const body = r.complete ?? (await readAll(r.body));
    return { status: r.statusCode, headers: { ...r.headers }, body: body.toString('latin1') };
  } catch (e) {
    return { code: String((e as { code?: unknown }).code) };
  }
}

async function expectPoolStillServes(): Promise<void> {
  expect(await outcome('/ok')).toMatchObject({ status: 200, body: 'ok' });
}

const BAD: [string, (string | Buffer)[], boolean, string][] = [
  ['a status line with letters for digits', ['HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a status line of another protocol', ['ICY 200 OK\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['HTTP/2 in the status line', ['HTTP/2 200 OK\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['HTTP/1.2', ['HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a status code below 100', ['HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a status code with four digits', ['HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['101 Switching Protocols', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['obs-fold', ['HTTP/1.1 200 OK\r\nX-A: one\r\n  two\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a space before the colon', ['HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a header line without a colon', ['HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a non-token header name', ['HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['NUL in a header value', ['HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a bare CR in a header value', ['HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a bare LF between header lines', ['HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a control character in the reason', ['HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['Content-Length and Transfer-Encoding together', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['conflicting Content-Length headers', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['conflicting Content-Length list', ['HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a signed Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a hexadecimal Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['an empty Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a huge Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a transfer coding other than chunked', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['Transfer-Encoding twice', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['Transfer-Encoding in an HTTP/1.0 response', ['HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a non-hex chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a negative chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a chunk size over 2^48', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['chunk data longer than its size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a chunk size line ended by a bare LF', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a chunk extension with a control character', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['an endless chunk extension', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;' + 'a'.repeat(5000) + '\r\nhello\r\n0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a malformed trailer', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a trailer\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a head over 64 KiB', ['HTTP/1.1 200 OK\r\n' + 'X-Big: '.concat('b'.repeat(1000), '\r\n').repeat(70) + 'Content-Length: 0\r\n\r\n'], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a head over 64 KiB without an end', ['HTTP/1.1 200 OK\r\nX-Big: ' + 'b'.repeat(70_000)], false, 'RAMPART_ERR_UPSTREAM_PROTOCOL'],
  ['a truncated body', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'], true, 'RAMPART_ERR_UPSTREAM_CLOSED'],
  ['a truncated chunked body', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'], true, 'RAMPART_ERR_UPSTREAM_CLOSED'],
  ['a truncated head', ['HTTP/1.1 200 OK\r\nContent-Le'], true, 'RAMPART_ERR_UPSTREAM_CLOSED'],
  ['nothing at all', [], true, 'RAMPART_ERR_UPSTREAM_CLOSED'],
];

describe('malformed upstream responses', () => {
  it.each(BAD)('%s -> an error mapped to 502, and the pool still serves', async (_what, pieces, end, code) => {
    const got = await outcome(script(pieces, end));
    expect(got).toEqual({ code });
    const mapped = upstreamError(Object.assign(new Error('x'), { code }), 'm');
    expect(mapped).toBeInstanceOf(UpstreamUnavailableError);
    expect((mapped as { code?: string }).code).toBe('RAMPART_ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    await expectPoolStillServes();
  });

  it('maps the real error object of a malformed response to 502', async () => {
    const path = script(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']);
    const err = await pool.request({ method: 'GET', path, headers: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(upstreamError(err, 'm')).toBeInstanceOf(UpstreamUnavailableError);
  });

  it('does not reuse a socket that carried more bytes than the response framed', async () => {
    const before = server.connections;
    const path = script(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged']);
    expect(await outcome(path)).toMatchObject({ status: 200, body: 'ok' });
    // The extra bytes are never taken as the answer to the next request.
    await Promise.all([outcome('/ok'), outcome('/ok'), outcome('/ok'), outcome('/ok'), outcome('/ok')]).then((all) => {
      for (const a of all) expect(a).toMatchObject({ status: 200, body: 'ok' });
    });
    expect(server.connections).toBeGreaterThan(before);
  });
});

// Valid responses, each with the outcome it must parse to.
const VALID: [string, string, string][] = [
  ['content-length', 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 11\r\n\r\n{"a":"xyz"}', 'GET'],
  ['chunked with extensions and trailers', 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\nE ; q="a;b"\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n', 'GET'],
  ['interim responses first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone', 'POST'],
  ['HEAD with a length', 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n', 'HEAD'],
  ['no reason phrase', 'HTTP/1.1 204\r\nX-A: \t spaced \t\r\n\r\n', 'GET'],
];

describe('valid responses split anywhere', () => {
  it.each(VALID)('%s parses the same when split at every byte position', async (_what, text, method) => {
    const expected = await outcome(script([text]), method);
    expect(expected).toHaveProperty('status');
    const bytes = Buffer.from(text, 'latin1');
    for (let at = 1; at < bytes.length; at++) {
      const got = await outcome(script([bytes.subarray(0, at), bytes.subarray(at)]), method);
      expect(got, `split at ${at}`).toEqual(expected);
    }
  });

  it('finds the end of a head whose blank line is spread over three pieces', async () => {
    const path = script(['HTTP/1.1 200 OK\r\nContent-Length: 2\r', '\n', '\r', '\nok']);
    expect(await outcome(path)).toMatchObject({ status: 200, body: 'ok' });
    const path2 = script(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n', '\r', '\nok']);
    expect(await outcome(path2)).toMatchObject({ status: 200, body: 'ok' });
  });

  it('parses the same when cut into random pieces (seeded)', async () => {
    const rand = mulberry32(20240611);
    for (const [, text, method] of VALID) {
      const expected = await outcome(script([text]), method);
      const bytes = Buffer.from(text, 'latin1');
      for (let round = 0; round < 40; round++) {
        const cuts = new Set<number>();
        const n = 1 + Math.floor(rand() * 12);
        for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(rand() * (bytes.length - 1)));
        const at = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
        const pieces = at.slice(1).map((end, i) => bytes.subarray(at[i], end));
        expect(await outcome(script(pieces), method), `cuts ${at.join(',')}`).toEqual(expected);
      }
    }
  });
});

describe('garbage', () => {
  it('random bytes never crash the client and always reject (seeded)', async () => {
    const rand = mulberry32(7);
    for (let round = 0; round < 150; round++) {
      const len = 1 + Math.floor(rand() * 300);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(rand() * 256);
      const got = await outcome(script([b], true));
      expect(got, `round ${round}`).toHaveProperty('code');
      expect(['RAMPART_ERR_UPSTREAM_PROTOCOL', 'RAMPART_ERR_UPSTREAM_CLOSED']).toContain((got as { code: string }).code);
    }
    await expectPoolStillServes();
  });

  it('valid responses with random bytes changed never crash the client (seeded)', async () => {
    const rand = mulberry32(99);
    let rejected = 0;
    for (let round = 0; round < 150; round++) {
      const [, text, method] = VALID[round % VALID.length]!;
      const b = Buffer.from(text, 'latin1');
      const flips = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < flips; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const got = await outcome(script([b], true), method);
      if ('code' in got) {
        rejected++;
        expect(['RAMPART_ERR_UPSTREAM_PROTOCOL', 'RAMPART_ERR_UPSTREAM_CLOSED']).toContain(got.code);
      }
    }
    expect(rejected).toBeGreaterThan(50);
    await expectPoolStillServes();
  });
});
