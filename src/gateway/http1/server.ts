// The gateway's own HTTP/1.1 front: requests in a strict, common subset of HTTP/1.1 are parsed and
// answered here without node:http's per-request machinery (an IncomingMessage and a ServerResponse
// stream per request, header objects built through C++ callbacks), which costs about a third of a
// proxied request's CPU. Everything outside the subset is not rejected here: the connection, with
// the bytes not yet consumed pushed back, is handed to the node:http server at a request boundary,
// and node answers it as before (chunked or Expect requests, HTTP/1.0, Upgrade, repeated headers,
// malformed or oversized heads, which node refuses with its own 400/431).
//
// The subset, checked byte by byte on the head before anything is dispatched: request line
// `METHOD SP origin-form SP HTTP/1.1` (method A-Z only, target printable ASCII starting with '/');
// header lines `token ":" OWS value OWS` with values of printable ASCII and tabs; no repeated
// header name; Content-Length digits only; no Transfer-Encoding, Expect or Upgrade; Connection
// only keep-alive or close; a Host header; the head at most 16 KiB. One request at a time per
// connection (a pipelined request waits until the response before it is done).
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Server, Socket } from 'node:net';
import { BodyTooLargeError, ClientClosedError, RequestTimeoutError } from '../errors.js';
import { writeThisTurn } from './coalesce.js';
import { headerName, TCHAR } from './names.js';

/** Node's default `maxHeaderSize`: a head longer than this goes to node, which answers 431. */
export const MAX_HEAD = 16 * 1024;
/** Bytes of a pipelined next request buffered while a response is in progress before reading pauses. */
const MAX_AHEAD = 64 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters node:http refuses in a header value (response splitting). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** A request head in the subset. */
export interface SubsetHead {
  method: string;
  target: string;
  /** Lower-cased names; each name once. */
  headers: Record<string, string>;
  contentLength: number;
  /** `Connection: close` was asked for. */
  close: boolean;
}

/**
 * Parses a request head (without its blank line, as latin1 text) in one pass; null when it is
 * outside the subset (the connection then goes to node:http). The subset, exactly: a request line
 * `[A-Z]{1,20} SP "/" [\x21-\x7e]* SP "HTTP/1.1"`; header lines `token ":" *(SP / HTAB) value`
 * with the value's trailing SP/HTAB dropped and only HTAB and \x20-\x7e in it; lines ended by
 * CRLF (a bare CR or LF, or any other byte, is outside); no name twice; Content-Length of 1-15
 * digits; Connection a list of keep-alive and close; no Transfer-Encoding, Expect, Upgrade or
 * HTTP2-Settings; a Host header.
 */
export function parseSubsetHead(head: string): SubsetHead | null {
  const n = head.length;
  let i = 0;
  while (i < n && i <= 20) {
    const c = head.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) break;
    i++;
  }
  if (i === 0 || i > 20 || head.charCodeAt(i) !== 0x20 || head.charCodeAt(i + 1) !== 0x2f) return null;
  const method = head.slice(0, i);
  const ts = ++i;
  for (i++; i < n; i++) {
    const c = head.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) break;
  }
  if (head.charCodeAt(i) !== 0x20 || !head.startsWith('HTTP/1.1', i + 1)) return null;
  const target = head.slice(ts, i);
  i += 9;
  const headers = Object.create(null) as Record<string, string>;
  let contentLength = 0;
  let close = false;
  let host = false;
  while (i < n) {
    // Every line so far ended with CRLF; a head never ends with one (the blank line is not in it).
    if (head.charCodeAt(i) !== 0x0d || head.charCodeAt(i + 1) !== 0x0a || i + 2 >= n) return null;
    i += 2;
    const ns = i;
    for (; i < n; i++) {
      const c = head.charCodeAt(i);
      if (c >= 128 || TCHAR[c] === 0) break;
    }
    if (i === ns || head.charCodeAt(i) !== 0x3a) return null;
    const name = headerName(head, ns, i);
    if (name in headers) return null;
    i++;
    for (; i < n; i++) {
      const c = head.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09) break;
    }
    const vs = i;
    let ve = i;
    for (; i < n; i++) {
      const c = head.charCodeAt(i);
      if (c === 0x0d) break;
      if (c > 0x7e || (c < 0x20 && c !== 0x09)) return null;
      if (c !== 0x20 && c !== 0x09) ve = i + 1;
    }
    const value = head.slice(vs, ve);
    switch (name) {
      case 'host':
        host = true;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      case 'http2-settings':
        return null;
      case 'content-length': {
        const len = value.length;
        if (len === 0 || len > 15) return null;
        for (let k = 0; k < len; k++) {
          const c = value.charCodeAt(k);
          if (c < 0x30 || c > 0x39) return null;
        }
        contentLength = Number(value);
        break;
      }
      case 'connection':
        for (const t of value.toLowerCase().split(',')) {
          const tok = t.trim();
          if (tok === 'close') close = true;
          else if (tok !== 'keep-alive') return null;
        }
        break;
      default:
        break;
    }
    headers[name] = value;
  }
  return host ? { method, target, headers, contentLength, close } : null;
}

export interface Http1FrontOptions {
  headersTimeout: number;
  /** 0: no limit on the whole request. */
  requestTimeout: number;
  keepAliveTimeout: number;
  onRequest(req: Http1Request, res: Http1Response): void;
  /** Takes over a connection whose next request is outside the subset (`rest`: its bytes read so far). */
  handOff(socket: Socket, rest: Buffer | null): void;
  /** Raw response written when a client is too slow to send its head (then the connection closes). */
  timeoutAnswer(): string;
}

const enum State {
  /** Between requests (keep-alive timer). */
  Idle,
  /** Part of a head received (headers timer). */
  Head,
  /** Head dispatched, body still arriving (request timer). */
  Body,
  /** Request complete; the handler is answering. */
  Busy,
  Closed,
}

/** A request parsed by the front: the members of IncomingMessage the gateway uses. */
export class Http1Request {
  complete: boolean;
  /** Body bytes received so far. */
  received = 0;
  private chunks: Buffer[] = [];
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void; limit: number } | null = null;
  private failure: Error | null = null;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly socket: Socket,
    readonly contentLength: number,
    private readonly conn: Connection,
  ) {
    this.complete = contentLength === 0;
  }

  /** Adds body bytes (never more than Content-Length: the connection splits them). */
  push(b: Buffer): void {
    this.chunks.push(b);
    this.received += b.length;
    if (this.received === this.contentLength) {
      this.complete = true;
      if (this.waiter) this.settle();
    }
  }

  /** The whole body when it has all arrived and is within `limit` (no promise); null otherwise. */
  bodyIfComplete(limit: number): Buffer | null {
    if (!this.complete || this.contentLength > limit || this.waiter !== null) return null;
    const c = this.chunks;
    return c.length === 1 ? c[0]! : c.length === 0 ? Buffer.alloc(0) : Buffer.concat(c, this.received);
  }

  /** The whole body, refusing more than `limit` bytes; ClientClosedError when the client goes away first. */
  readBody(limit: number): Promise<Buffer> {
    if (this.contentLength > limit) return Promise.reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject, limit };
      if (this.complete) this.settle();
    });
  }

  private settle(): void {
    const w = this.waiter!;
    this.waiter = null;
    const c = this.chunks;
    w.resolve(c.length === 1 ? c[0]! : c.length === 0 ? Buffer.alloc(0) : Buffer.concat(c, this.received));
  }

  /** The body will not arrive (client gone, request timeout). */
  fail(e: Error): void {
    if (this.complete || this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  /** The handler will not read the rest of the body: stop reading; the connection closes after the response. */
  pause(): this {
    if (!this.complete) this.conn.stopReading();
    return this;
  }
}

type HeaderValue = string | number | readonly string[];

/** The response side: the members of ServerResponse the gateway uses, written straight to the socket. */
export class Http1Response extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  private fields: Record<string, HeaderValue> = Object.create(null) as Record<string, HeaderValue>;
  private chunked = false;
  private fixedLength = -1;
  private written = 0;
  private closed = false;

  constructor(
    private readonly conn: Connection,
    private readonly head: boolean,
  ) {
    super();
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw headersSentError();
    checkHeader(name, value);
    this.fields[name.toLowerCase()] = value;
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.fields[name.toLowerCase()];
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.headersSent) throw headersSentError();
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    this.statusCode = status;
    if (headers) {
      for (const k in headers) checkHeader(k, headers[k]);
      for (const k in headers) {
        const v = headers[k];
        if (v !== undefined) this.fields[k.toLowerCase()] = v;
      }
    }
    return this;
  }

  flushHeaders(): void {
    if (!this.headersSent && !this.destroyed) this.conn.write(this.frame(this.buildHead(-1), null, false));
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.writableEnded) throw new Error('write after end');
    if (this.destroyed) return false;
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const head = this.headersSent ? null : this.buildHead(-1);
    return this.conn.write(this.frame(head, body, false));
  }

  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    if (this.destroyed) return this;
    const body = chunk === undefined ? null : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const head = this.headersSent ? null : this.buildHead(body === null ? 0 : body.length);
    if (this.fixedLength >= 0 && this.written + (body?.length ?? 0) !== this.fixedLength && !this.head) {
      // The body does not match its Content-Length: the client could not find the next response.
      this.conn.closeAfterResponse = true;
    }
    this.conn.finishResponse(this, this.frame(head, body, true));
    return this;
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.conn.destroy();
    }
    return this;
  }

  /** Called by the connection once: the last write left for the kernel (ok) or the connection closed. */
  done(ok: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (ok) this.writableFinished = true;
    else this.destroyed = true;
    this.emit('close');
  }

  /** Status line and header block; `endLength` >= 0 when the whole body is known (end() without writes). */
  private buildHead(endLength: number): string {
    this.headersSent = true;
    const status = this.statusCode;
    const f = this.fields;
    let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    let hasLength = false;
    let connClose = this.conn.closeAfterResponse;
    for (const k in f) {
      const v = f[k]!;
      if (k === 'transfer-encoding') continue; // framing is decided here
      if (k === 'content-length') {
        if (noBody) continue;
        hasLength = true;
        this.fixedLength = Number(v);
      } else if (k === 'connection') {
        if (String(v).toLowerCase() === 'close') connClose = true;
        continue;
      }
      if (typeof v === 'object') {
        for (const one of v) s += `${k}: ${one}\r\n`;
      } else s += `${k}: ${v}\r\n`;
    }
    if (!('date' in f)) s += `date: ${httpDate()}\r\n`;
    if (!hasLength && !noBody && !this.head) {
      if (endLength >= 0) {
        s += `content-length: ${endLength}\r\n`;
        this.fixedLength = endLength;
      } else {
        s += 'transfer-encoding: chunked\r\n';
        this.chunked = true;
      }
    }
    if (connClose) {
      this.conn.closeAfterResponse = true;
      s += 'connection: close\r\n\r\n';
    } else s += this.conn.keepAliveFields;
    return s;
  }

  /** The bytes for one write: the head if still unsent, then the body framed as chunks when chunked. */
  private frame(head: string | null, body: Uint8Array | null, last: boolean): Buffer {
    const n = body === null || this.head ? 0 : body.length;
    this.written += n;
    let pre = head ?? '';
    let post = '';
    if (this.chunked) {
      if (n > 0) {
        pre += `${n.toString(16)}\r\n`;
        post = '\r\n';
      }
      if (last) post += '0\r\n\r\n';
    }
    const preLen = pre.length;
    const out = Buffer.allocUnsafe(preLen + n + post.length);
    if (preLen > 0) out.write(pre, 0, 'latin1');
    if (n > 0) out.set(body!, preLen);
    if (post.length > 0) out.write(post, preLen + n, 'latin1');
    return out;
  }
}

/** As node:http does when a header is set: a name must be a token, a value must not hold CR, LF or NUL (response splitting). */
function checkHeader(name: string, value: HeaderValue | undefined): void {
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name "${name}"`);
  if (typeof value === 'string') {
    if (BAD_VALUE.test(value)) throw new TypeError(`invalid character in the value of header "${name}"`);
  } else if (typeof value === 'object') {
    for (const one of value) if (BAD_VALUE.test(one)) throw new TypeError(`invalid character in the value of header "${name}"`);
  }
}

function headersSentError(): Error {
  return Object.assign(new Error('cannot set headers after they are sent'), { code: 'ERR_HTTP_HEADERS_SENT' });
}

let dateAt = 0;
let dateText = '';
/** The Date header value, computed at most once a second. */
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateText = new Date(dateAt).toUTCString();
  }
  return dateText;
}

/** One client connection served by the front. */
class Connection {
  state = State.Idle;
  /** Time (ms) after which the current state's timer fires; 0 for none. */
  deadline: number;
  closeAfterResponse = false;
  readonly keepAliveFields: string;
  private buf: Buffer | null = null;
  /** How far `buf` was searched for the end of the head. */
  private scanned = 0;
  private req: Http1Request | null = null;
  private res: Http1Response | null = null;
  private reading = true;

  constructor(
    readonly socket: Socket,
    private readonly front: Http1Front,
  ) {
    this.deadline = Date.now() + front.opts.keepAliveTimeout;
    this.keepAliveFields = front.keepAliveFields;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === State.Body) {
      const req = this.req!;
      const need = req.contentLength - req.received;
      if (chunk.length <= need) {
        req.push(chunk);
        if (req.complete) this.toBusy();
        return;
      }
      req.push(chunk.subarray(0, need));
      this.toBusy();
      chunk = chunk.subarray(need);
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.state === State.Idle || this.state === State.Head) this.parse();
    else if (this.buf.length > MAX_AHEAD) this.stopReading();
  };

  private toBusy(): void {
    this.state = State.Busy;
    this.deadline = 0;
  }

  private readonly onEnd = (): void => {
    // The client sent FIN. As node:http does (without httpAllowHalfOpen), a request in progress counts
    // as abandoned by the client: its response 'close's unfinished and the upstream call is cancelled.
    if (this.state === State.Busy || this.state === State.Body) this.destroy();
    else this.socket.end();
  };

  private readonly onError = (): void => {
    this.destroy();
  };

  private readonly onClose = (): void => {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.front.conns.delete(this);
    this.req?.fail(new ClientClosedError());
    const res = this.res;
    this.res = null;
    res?.done(false);
  };

  private readonly onDrain = (): void => {
    const res = this.res;
    if (res !== null) res.emit('drain');
  };

  stopReading(): void {
    if (this.reading) {
      this.reading = false;
      this.socket.pause();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Writes response bytes (at the end of this turn); false when the socket's buffer is full (wait for 'drain'). */
  write(b: Buffer | string): boolean {
    return writeThisTurn(this.socket, b);
  }

  /** The response's last bytes: written, then the connection moves on to the next request or closes. */
  finishResponse(res: Http1Response, bytes: Buffer): void {
    const req = this.req!;
    if (!req.complete) this.closeAfterResponse = true; // an unread body cannot be skipped reliably
    const close = this.closeAfterResponse || this.front.closing;
    writeThisTurn(this.socket, bytes, (err) => {
      if (this.res === res) this.res = null;
      res.done(!err);
    });
    this.req = null;
    if (close) {
      this.state = State.Closed;
      this.front.conns.delete(this);
      this.socket.end();
      return;
    }
    this.state = State.Idle;
    this.deadline = Date.now() + this.front.opts.keepAliveTimeout;
    if (!this.reading) {
      this.reading = true;
      this.socket.resume();
    }
    // A pipelined request: parse it after this call stack (the handler may still be running).
    if (this.buf !== null) process.nextTick(() => this.state === State.Idle && this.parse());
  }

  /** Parses the next request head from `buf`: dispatches it, waits for more bytes, or hands off. */
  private parse(): void {
    const buf = this.buf!;
    if (this.state === State.Idle) {
      this.state = State.Head;
      this.deadline = Date.now() + this.front.opts.headersTimeout;
      this.scanned = 0;
    }
    const end = buf.indexOf(CRLFCRLF, this.scanned > 3 ? this.scanned - 3 : 0);
    if (end < 0) {
      if (buf.length > MAX_HEAD) this.handOff();
      else this.scanned = buf.length;
      return;
    }
    if (end + 4 > MAX_HEAD) return this.handOff();
    const h = parseSubsetHead(buf.toString('latin1', 0, end));
    if (h === null) return this.handOff();
    const contentLength = h.contentLength;
    // In the subset: consume the head and dispatch.
    const restStart = end + 4;
    let rest: Buffer | null = restStart < buf.length ? buf.subarray(restStart) : null;
    this.buf = null;
    this.scanned = 0;
    this.closeAfterResponse = h.close || this.front.closing;
    const req = new Http1Request(h.method, h.target, h.headers as IncomingHttpHeaders, this.socket, contentLength, this);
    if (contentLength > 0 && rest !== null) {
      if (rest.length <= contentLength) {
        req.push(rest);
        rest = null;
      } else {
        req.push(rest.subarray(0, contentLength));
        rest = rest.subarray(contentLength);
      }
    }
    this.buf = rest;
    if (req.complete) this.toBusy();
    else {
      this.state = State.Body;
      const rt = this.front.opts.requestTimeout;
      this.deadline = rt > 0 ? this.deadline - this.front.opts.headersTimeout + rt : 0;
    }
    const res = new Http1Response(this, h.method === 'HEAD');
    this.req = req;
    this.res = res;
    this.front.opts.onRequest(req, res);
  }

  /** Gives the connection, with its unread bytes, to node:http for the rest of its life. */
  private handOff(): void {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    this.front.conns.delete(this);
    this.state = State.Closed;
    const rest = this.buf;
    this.buf = null;
    this.front.handOffs++;
    this.front.opts.handOff(s, rest);
  }

  /** Called by the front's timer. */
  expire(now: number): void {
    if (this.deadline === 0 || now < this.deadline) return;
    this.deadline = 0;
    if (this.state === State.Idle) this.destroy();
    else if (this.state === State.Head) {
      this.state = State.Closed;
      this.front.conns.delete(this);
      this.socket.end(this.front.opts.timeoutAnswer());
    } else if (this.state === State.Body) {
      // The handler answers (408 in the protocol's shape) when its body read fails.
      this.req!.fail(new RequestTimeoutError());
      this.stopReading();
    }
  }
}

/** The front: accepts connections from a net or TLS server and serves them until they close or leave. */
export class Http1Front {
  readonly conns = new Set<Connection>();
  closing = false;
  /** Connections handed to node:http so far (tests and metrics). */
  handOffs = 0;
  readonly keepAliveFields: string;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly opts: Http1FrontOptions) {
    this.keepAliveFields = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(opts.keepAliveTimeout / 1000)}\r\n\r\n`;
    const every = Math.min(1000, Math.max(100, Math.floor(opts.headersTimeout / 4)));
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns) c.expire(now);
    }, every);
    this.timer.unref();
  }

  /** Serves a new connection (already past its TLS handshake). */
  accept(socket: Socket): void {
    this.conns.add(new Connection(socket, this));
  }

  /** Closes connections with no request in progress; later responses close their connection. */
  closeIdle(): void {
    this.closing = true;
    for (const c of this.conns) if (c.state === State.Idle) c.destroy();
  }

  closeAll(): void {
    this.closing = true;
    clearInterval(this.timer);
    for (const c of this.conns) c.destroy();
  }
}

/**
 * Puts a front before a node:http or node:https server: new connections go to the front, which gives
 * a connection back to node's own listener, with the bytes it has read, when a request leaves the
 * subset. `event`: 'secureConnection' for node:https, 'connection' for node:http.
 */
export function attachHttp1Front(server: Server, event: 'connection' | 'secureConnection', opts: Omit<Http1FrontOptions, 'handOff'>): Http1Front {
  const [nodeListener] = server.listeners(event) as ((socket: Socket) => void)[];
  if (nodeListener === undefined) throw new Error(`the server has no ${event} listener to hand connections to`);
  server.removeListener(event, nodeListener);
  const front = new Http1Front({
    ...opts,
    handOff: (socket, rest) => {
      if (rest !== null) socket.unshift(rest);
      nodeListener.call(server, socket);
    },
  });
  server.on(event, (socket: Socket) => front.accept(socket));
  return front;
}
