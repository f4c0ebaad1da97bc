import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UpstreamResponse } from './http1/client.js';
import { forwardResponse, forwardWhole, type ForwardOptions, type ForwardResult } from './proxy.js';

/** Serves one response through `fwd` on a real loopback server; returns what the client got and the result. */
async function through(
  fwd: typeof forwardResponse,
  chunks: Buffer[],
  opts: ForwardOptions,
): Promise<{ body: Buffer; result: ForwardResult; headers: Record<string, unknown> }> {
  let result!: ForwardResult;
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const server = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(total) });
    void fwd(Readable.from(chunks), res, opts).then((r) => {
      result = r;
      if (!res.writableEnded) res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        const got: Buffer[] = [];
        res.on('data', (c: Buffer) => got.push(c));
        res.on('end', () => resolve({ body: Buffer.concat(got), result, headers: res.headers }));
      })
        .on('error', reject)
        .end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('forwarding a small whole response', () => {
  const json = JSON.stringify({ id: 'x', choices: [{ message: { content: 'é'.repeat(500) } }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  const bytes = Buffer.from(json);
  // Split inside a multi-byte character on purpose.
  const chunks = [bytes.subarray(0, 101), bytes.subarray(101, 700), bytes.subarray(700)];
  const opts: ForwardOptions = { sse: false, json: true, usage: true, stripUsageChunk: false, captureBody: true };

  it('sends the same bytes and finds the same usage as the streaming path', async () => {
    const whole = await through(forwardWhole, chunks, opts);
    const streamed = await through(forwardResponse, chunks, opts);
    expect(whole.body.equals(bytes)).toBe(true);
    expect(streamed.body.equals(bytes)).toBe(true);
    expect(whole.result).toEqual(streamed.result);
    expect(whole.result).toMatchObject({ bytes: bytes.length, usage: { totalTokens: 7 }, body: json });
    expect(whole.headers['content-length']).toBe(String(bytes.length));
  });

  it('uses a body that arrived whole with the upstream head as it is, with the same result', async () => {
    const viaStream = await through(forwardWhole, chunks, opts);
    const direct = await through((_body, res, o) => forwardWhole(new UpstreamResponse(200, {}, bytes), res, o), chunks, opts);
    expect(direct.body.equals(bytes)).toBe(true);
    expect(direct.result).toEqual(viaStream.result);
  });

  it('gives no usage for broken JSON and nothing captured when not asked', async () => {
    const r = await through(forwardWhole, [Buffer.from('{"usage": ')], { ...opts, captureBody: false });
    expect(r.body.toString()).toBe('{"usage": ');
    expect(r.result).toEqual({ bytes: 10, usage: null });
  });
});
