// Test servers for the upstream client: a raw TCP server that reads HTTP/1.1 requests and answers
// with whatever bytes a test crafts, and small helpers around real node:http servers.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';

export interface RawRequest {
  method: string;
  path: string;
  /** Header fields with lower-case names (last value wins). */
  headers: Record<string, string>;
  /** The head exactly as received, blank line included. */
  rawHead: string;
  body: Buffer;
  /** 1 for the first request on this socket. */
  n: number;
  socket: Socket;
}

export interface RawServer {
  url: URL;
  /** Connections accepted so far. */
  connections: number;
  /** Sockets currently open. */
  open: Set<Socket>;
  requests: RawRequest[];
  /** Bytes received over all sockets. */
  bytesIn: number;
  close(): Promise<void>;
}

/**
 * A TCP server that parses requests (Content-Length bodies only) and calls `answer` for each; the
 * answer writes raw bytes to `req.socket` (and may end or destroy it).
 */
export async function rawServer(answer: (req: RawRequest) => void): Promise<RawServer> {
  const state: RawServer = { url: new URL('http://127.0.0.1'), connections: 0, open: new Set(), requests: [], bytesIn: 0, close: async () => undefined };
  const server: Server = createNetServer((socket) => {
    state.connections++;
    state.open.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => state.open.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let n = 0;
    socket.on('data', (d: Buffer) => {
      state.bytesIn += d.length;
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const rawHead = buf.subarray(0, end + 4).toString('latin1');
        const lines = rawHead.slice(0, -4).split('\r\n');
        const [method, path] = lines[0]!.split(' ');
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len);
        buf = buf.subarray(end + 4 + len);
        const req: RawRequest = { method: method!, path: path!, headers, rawHead, body, n: ++n, socket };
        state.requests.push(req);
        answer(req);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  state.close = async () => {
    for (const s of state.open) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return state;
}

export interface HttpTestServer {
  url: URL;
  server: HttpServer;
  connections: number;
  /** Sockets currently open on the server side. */
  open: number;
  close(): Promise<void>;
}

/** A node:http server on a loopback port, counting the connections it accepted. */
export async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, server: HttpServer = createHttpServer()): Promise<HttpTestServer> {
  const state: HttpTestServer = { url: new URL('http://127.0.0.1'), server, connections: 0, open: 0, close: async () => undefined };
  server.on('request', handler);
  const tls = 'setSecureContext' in server;
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    state.connections++;
    state.open++;
    socket.on('close', () => state.open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const scheme = tls ? 'https' : 'http';
  state.url = new URL(`${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`);
  state.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return state;
}

/** Reads a body to the end. */
export async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The `code` of a rejection (or '' when the promise resolves). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return '';
  } catch (e) {
    return String((e as { code?: unknown }).code ?? 'NO_CODE');
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Answers with `total` body bytes, made by `piece(offset, length)` in pieces of at most
 * `pieceSize`, written only as fast as the client reads (waits for 'drain'). `sent()`: bytes
 * handed to the response so far.
 */
export function sendWithBackpressure(res: ServerResponse, total: number, pieceSize: number, piece: (offset: number, length: number) => Buffer): { sent: () => number } {
  let off = 0;
  res.writeHead(200, { 'content-length': String(total) });
  const pump = (): void => {
    while (off < total) {
      const b = piece(off, Math.min(pieceSize, total - off));
      off += b.length;
      if (!res.write(b)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
  return { sent: () => off };
}
