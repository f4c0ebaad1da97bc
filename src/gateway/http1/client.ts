// The gateway's HTTP/1.1 client for upstream model servers: a keep-alive pool of plain or TLS
// sockets per upstream, one request per socket at a time (no pipelining), a strict response parser
// (anything it does not understand is an error, never a guess), streamed bodies with backpressure,
// and a fast path for the common small response that arrives whole with its head.
//
// Written for the proxy's hot path: one object per connection holds the parser state and the
// socket callbacks (bound once), a request allocates its head buffer, one exchange object and the
// promise it returns; there are no regular expressions, closures per chunk or AbortControllers.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect, type SecureVersion, type TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import {
  UpstreamAbortedError,
  UpstreamBadRequestError,
  UpstreamBodyTimeoutError,
  UpstreamClosedError,
  UpstreamConnectTimeoutError,
  UpstreamHeadersTimeoutError,
  UpstreamPoolClosedError,
  UpstreamProtocolError,
} from './client-errors.js';
import { writeThisTurn } from './coalesce.js';
import { headerName, isTokenAt } from './names.js';

/**
 * The read buffer of every upstream socket. Reads are delivered synchronously, one at a time on
 * this thread, and the client copies what it keeps, so one buffer serves all of them.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Cancellation: an EventEmitter with `aborted` and an 'abort' event (the gateway's UpstreamAbort). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  on(event: 'abort', listener: () => void): unknown;
  removeListener(event: 'abort', listener: () => void): unknown;
}

export interface Http1PoolOptions {
  /** Most sockets open at once (default 64); further requests wait in a FIFO queue. */
  connections?: number;
  /** How long an idle socket is kept (ms, default 30 000); a shorter `Keep-Alive: timeout` wins. */
  keepAliveTimeout?: number;
  /** TCP connect plus TLS handshake (ms, default 10 000). */
  connectTimeout?: number;
  /** Defaults for requests that name none (ms, 0 = none; default 60 000). */
  headersTimeout?: number;
  bodyTimeout?: number;
  /** PEM CA bundle; replaces the system roots for this pool. */
  ca?: string | Buffer;
  /** PEM client certificate and key (mTLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Lowest TLS version accepted (default TLSv1.2). */
  minVersion?: SecureVersion;
  /** SNI name (default: the origin's host name unless it is an IP literal). */
  servername?: string;
}

export interface Http1Request {
  method: string;
  /** Request target starting with '/', query string included. */
  path: string;
  /**
   * Header fields to send. `host` defaults to the origin's; `content-length`, `transfer-encoding`,
   * `connection` and `keep-alive` belong to the client and are ignored here.
   */
  headers: Readonly<Record<string, string>>;
  body?: Buffer;
  signal?: AbortSignalLike;
  /** From the end of the write to the end of the response head (ms, 0 = none). */
  headersTimeout?: number;
  /** Longest silence while the body is read (ms, 0 = none). */
  bodyTimeout?: number;
}

/** Methods whose request may be sent twice (RFC 9110 idempotent methods the gateway uses). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** Largest response head (status line and fields, interim responses included). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest chunk-size line (size plus ignored extensions) and largest trailer section. */
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILER_BYTES = 64 * 1024;
/** Request bodies up to this size are copied behind the head to go out in one write. */
const COPY_BODY_MAX = 64 * 1024;

function isToken(s: string): boolean {
  return isTokenAt(s, 0, s.length);
}

/** Field-value characters: HTAB, SP, VCHAR, obs-text (no CR, LF, NUL or other controls). */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Request-target characters: visible ASCII and obs-text, no space or controls. */
function isTarget(s: string): boolean {
  if (s.charCodeAt(0) !== 0x2f) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

function badRequest(what: string): Error {
  return new UpstreamBadRequestError(`refused to send upstream: ${what}`);
}

function protocolError(what: string): Error {
  return new UpstreamProtocolError(`malformed upstream response: ${what}`);
}

/**
 * Serializes the request head, and the body too when it is small, into one buffer. Throws
 * UpstreamBadRequestError (before anything is written) on a method, target, header name or value
 * that could split the request.
 */
function encodeHead(method: string, path: string, headers: Readonly<Record<string, string>>, body: Buffer | undefined, defaultHost: string): Buffer {
  if (!isToken(method)) throw badRequest('the method is not a token');
  if (!isTarget(path)) throw badRequest('the request target contains forbidden characters');
  let host = defaultHost;
  let fields = '';
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    if (!isToken(name)) throw badRequest('a header name is not a token');
    if (typeof value !== 'string' || !isFieldValue(value)) throw badRequest(`the value of header ${name} contains forbidden characters`);
    const n = name.length;
    if (n === 4 || n === 10 || n === 14 || n === 17) {
      const lower = name.toLowerCase();
      if (lower === 'host') {
        host = value;
        continue;
      }
      if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection' || lower === 'keep-alive') continue;
    }
    fields += name + ': ' + value + '\r\n';
  }
  if (body !== undefined) fields += 'content-length: ' + body.length + '\r\n';
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') fields += 'content-length: 0\r\n';
  const head = method + ' ' + path + ' HTTP/1.1\r\nhost: ' + host + '\r\n' + fields + '\r\n';
  // Every character was checked to be <= 0xff, so latin1 writes one byte per character.
  const withBody = body !== undefined && body.length > 0 && body.length <= COPY_BODY_MAX;
  const buf = Buffer.allocUnsafe(head.length + (withBody ? body.length : 0));
  buf.write(head, 0, 'latin1');
  if (withBody) body.copy(buf, head.length);
  return buf;
}

// Body framing of the response being read.
const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_CLOSE = 3;

// Chunked decoder states.
const CH_SIZE = 0;
const CH_DATA = 1;
const CH_DATA_CR = 2;
const CH_DATA_LF = 3;
const CH_TRAILER = 4;

// What a connection is doing (decides what its timer means).
const PH_CONNECT = 0;
const PH_IDLE = 1;
const PH_HEAD = 2;
const PH_BODY = 3;
const PH_DONE = 4;

/**
 * An upstream response. `headers` has lower-case names; a field that came several times is an
 * array. `complete` is the whole body when it arrived together with the head (the socket is then
 * already back in the pool), so small answers need no stream; `body` is always available (made
 * on first use in that case).
 */
export class UpstreamResponse {
  /** @internal */
  stream: UpstreamBody | null = null;

  constructor(
    readonly statusCode: number,
    readonly headers: Record<string, string | string[]>,
    readonly complete: Buffer | null,
  ) {}

  /** The whole body when it came with the head, else null (then read `body`). */
  wholeBody(max: number): Buffer | null {
    return this.complete !== null && this.stream === null && this.complete.length <= max ? this.complete : null;
  }

  /**
   * Drops a body nobody will read: destroys its stream if one was made (the upstream socket is then
   * closed, not reused; a body that came whole needs nothing). A listener for 'error' stays, so a
   * failure reported after the drop cannot end the process: every early exit uses this.
   */
  discard(): void {
    const s = this.stream;
    if (s !== null && !s.destroyed) {
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  get body(): UpstreamBody {
    if (this.stream === null) {
      const s = new UpstreamBody(null);
      if (this.complete!.length > 0) s.push(this.complete);
      s.push(null);
      this.stream = s;
    }
    return this.stream;
  }
}

/** The streamed body: reading resumes the socket, destroying it early destroys the socket. */
export class UpstreamBody extends Readable {
  /** @internal */
  conn: Conn | null;

  /** @internal */
  constructor(conn: Conn | null) {
    super();
    this.conn = conn;
  }

  /** Reads the rest of the body as UTF-8 text. */
  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  override _read(): void {
    this.conn?.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const c = this.conn;
    this.conn = null;
    if (c !== null) c.bodyDestroyed();
    cb(err);
  }
}

/** Fails a body: with the error when someone listens for it, else quietly (reads then see a premature close). */
function failBody(body: UpstreamBody, err: Error): void {
  body.conn = null;
  if (body.destroyed) return;
  if (body.listenerCount('error') > 0) body.destroy(err);
  else body.destroy();
}

/** One request on its way: queued, then on a connection until its response is complete or failed. */
class Exchange {
  conn: Conn | null = null;
  /** The promise was settled (a response or an error was handed out). */
  settled = false;
  /** The head (and small body) reached the socket without a write error. */
  written = false;
  /** A response byte arrived. */
  gotBytes = false;
  /** Already retried once after a stale keep-alive socket; next time on a new connection. */
  retried = false;
  /** Retry on a new connection, not an idle one. */
  fresh = false;
  /** Subscribed to the signal's 'abort'. */
  listening = false;
  resolve!: (r: UpstreamResponse) => void;
  reject!: (e: Error) => void;
  readonly onAbort: (() => void) | null;

  constructor(
    readonly pool: Http1Pool,
    readonly head: Buffer,
    /** A body too large to copy behind the head; written right after it. */
    readonly bigBody: Buffer | undefined,
    readonly isHead: boolean,
    readonly idempotent: boolean,
    readonly signal: AbortSignalLike | undefined,
    readonly headersTimeout: number,
    readonly bodyTimeout: number,
  ) {
    this.onAbort = signal === undefined ? null : () => this.abort();
  }

  abort(): void {
    const err = new UpstreamAbortedError();
    const c = this.conn;
    if (c !== null) {
      c.destroyWith(err);
    } else if (!this.settled) {
      this.pool.unqueue(this);
      this.fail(err);
    }
  }

  succeed(r: UpstreamResponse): void {
    this.settled = true;
    this.resolve(r);
  }

  fail(err: Error): void {
    this.detach();
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  /** Stops listening for aborts (the response is complete or failed). */
  detach(): void {
    this.conn = null;
    if (this.listening) {
      this.listening = false;
      this.signal!.removeListener('abort', this.onAbort!);
    }
  }
}

/** One socket and the state of the response being read on it. */
class Conn {
  readonly socket: Socket;
  ex: Exchange | null = null;
  phase = PH_CONNECT;
  /** Requests started on this socket so far (more than one: a reused keep-alive socket). */
  uses = 0;
  /** Idle lifetime; shortened by a `Keep-Alive: timeout` of the server. */
  idleMs: number;
  writing = false;
  dead = false;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  /** The phase the timer is armed for; it means nothing in any other (-1: disarmed). */
  private timerFor = -1;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleTimerMs = 0;
  private unrefed = false;

  // Response parser state.
  private headParts: Buffer[] = [];
  private headLen = 0;
  private headTotal = 0;
  private mode = BODY_NONE;
  private remaining = 0;
  private chState = CH_SIZE;
  private line = '';
  private trailerBytes = 0;
  private keepAlive = true;
  /** Status and fields of the final response head, once parsed (status 0 before). */
  private status = 0;
  private headers: Record<string, string | string[]> | null = null;
  private pre: Buffer[] | null = null;
  private body: UpstreamBody | null = null;
  private paused = false;

  private readonly onConnectBound = this.onConnect.bind(this);
  private readonly onReadBound = (n: number, buf: Buffer): boolean => {
    this.onData(buf.subarray(0, n));
    return true; // pausing is done with socket.pause() (backpressure of a streamed body)
  };
  private readonly onEndBound = this.onEnd.bind(this);
  private readonly onErrorBound = this.onError.bind(this);
  private readonly onCloseBound = this.onClose.bind(this);
  private readonly onTimerBound = this.onTimer.bind(this);
  private readonly onIdleTimerBound = this.onIdleTimer.bind(this);
  private readonly onWrittenBound = this.onWritten.bind(this);

  constructor(
    readonly pool: Http1Pool,
    ex: Exchange,
  ) {
    this.idleMs = pool.keepAliveTimeout;
    this.ex = ex;
    ex.conn = this;
    this.socket = pool.openSocket(this.onReadBound);
    this.socket.once(pool.tls ? 'secureConnect' : 'connect', this.onConnectBound);
    this.socket.on('error', this.onErrorBound);
    this.socket.on('close', this.onCloseBound);
    this.socket.on('end', this.onEndBound);
    this.arm(pool.connectTimeout, PH_CONNECT);
  }

  /** Arms the timer for `phase` (a timer object per connection, refreshed rather than re-created). */
  private arm(ms: number, phase: number): void {
    if (ms <= 0) return;
    this.timerFor = phase;
    if (this.timer !== null && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimerBound, ms);
    this.timer.unref();
  }

  private onTimer(): void {
    if (this.dead || this.phase !== this.timerFor) return;
    if (this.phase === PH_CONNECT) this.destroyWith(new UpstreamConnectTimeoutError());
    else if (this.phase === PH_HEAD) this.destroyWith(new UpstreamHeadersTimeoutError());
    else if (this.phase === PH_BODY) this.destroyWith(new UpstreamBodyTimeoutError());
  }

  private onIdleTimer(): void {
    if (this.phase === PH_IDLE && !this.dead) this.destroyWith(null);
  }

  private onConnect(): void {
    if (this.pool.tls) {
      const proto = (this.socket as TLSSocket).alpnProtocol;
      if (proto && proto !== 'http/1.1') {
        this.destroyWith(protocolError(`the upstream chose the ALPN protocol ${proto}`));
        return;
      }
    }
    this.phase = PH_DONE;
    const ex = this.ex;
    this.ex = null;
    if (ex !== null && ex.conn === this && !ex.settled) this.start(ex);
    else this.pool.release(this);
  }

  /** Sends `ex` on this (connected, unused) socket. */
  start(ex: Exchange): void {
    this.ex = ex;
    ex.conn = this;
    this.uses++;
    this.phase = PH_HEAD;
    this.headParts.length = 0;
    this.headLen = 0;
    this.headTotal = 0;
    this.status = 0;
    this.headers = null;
    this.pre = null;
    this.body = null;
    this.keepAlive = true;
    if (this.unrefed) {
      this.unrefed = false;
      this.socket.ref();
    }
    this.writing = true;
    this.timerFor = -1;
    this.arm(ex.headersTimeout, PH_HEAD);
    // Sent with the turn's other writes (./coalesce.ts); a large body follows its head in one writev.
    if (ex.bigBody === undefined) {
      writeThisTurn(this.socket, ex.head, this.onWrittenBound);
    } else {
      writeThisTurn(this.socket, ex.head);
      this.socket.write(ex.bigBody, this.onWrittenBound);
    }
  }

  private onWritten(err?: Error | null): void {
    this.writing = false;
    if (!err && this.ex !== null) {
      this.ex.written = true;
      // The headers timeout counts from the end of the write.
      if (this.phase === PH_HEAD) this.arm(this.ex.headersTimeout, PH_HEAD);
    }
  }

  /** The body's reader wants more. */
  resume(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * Bytes read from the socket. `chunk` is a view of the read buffer shared by every upstream
   * socket (net's `onread` option: no Readable, no buffer allocated per read), overwritten by the
   * next read: whatever outlives this call is copied (stashHead, emit).
   */
  private onData(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === null || this.phase < PH_HEAD || this.phase > PH_BODY) {
      // Bytes nobody asked for: the socket's framing can no longer be trusted.
      this.destroyWith(null);
      return;
    }
    ex.gotBytes = true;
    let buf = chunk;
    let off = 0;
    if (this.phase === PH_HEAD) {
      if (this.headLen > 0) {
        if (!this.headEndsIn(chunk)) {
          this.stashHead(chunk);
          return;
        }
        buf = Buffer.concat([...this.headParts, chunk]);
        this.headParts.length = 0;
        this.headLen = 0;
      }
      off = this.readHeads(buf);
      if (off < 0) return;
    } else if (ex.bodyTimeout > 0) {
      this.arm(ex.bodyTimeout, PH_BODY);
    }
    if (this.phase === PH_BODY && off < buf.length) off = this.readBody(buf, off);
    if (this.dead) return;
    // More bytes than the response framed: never reuse this socket.
    if (this.phase === PH_DONE && off < buf.length) this.keepAlive = false;
    if (this.status !== 0 && !ex.settled) this.hand(ex);
    if (this.phase === PH_DONE) this.finish();
  }

  /** Whether the blank line ending the stashed partial head is completed by `chunk`. */
  private headEndsIn(chunk: Buffer): boolean {
    if (chunk.indexOf(CRLFCRLF) >= 0) return true;
    // The blank line may begin in the stash, whose last three bytes can span several pieces.
    const joint: Buffer[] = [chunk.subarray(0, 3)];
    let need = 3;
    for (let i = this.headParts.length - 1; i >= 0 && need > 0; i--) {
      const p = this.headParts[i]!;
      const t = p.subarray(Math.max(0, p.length - need));
      joint.unshift(t);
      need -= t.length;
    }
    return Buffer.concat(joint).indexOf(CRLFCRLF) >= 0;
  }

  private stashHead(b: Buffer): void {
    this.headParts.push(Buffer.from(b));
    this.headLen += b.length;
    if (this.headTotal + this.headLen > MAX_HEAD_BYTES) this.destroyWith(protocolError('the response head exceeds 64 KiB'));
  }

  /**
   * Parses the heads in `buf` (interim 1xx responses are skipped) up to the final one. Returns the
   * offset where its body starts, or -1 when more bytes are needed or the connection failed.
   */
  private readHeads(buf: Buffer): number {
    let from = 0;
    for (;;) {
      const end = buf.indexOf(CRLFCRLF, from);
      if (end < 0) {
        if (from < buf.length) this.stashHead(from === 0 ? buf : buf.subarray(from));
        return -1;
      }
      this.headTotal += end + 4 - from;
      if (this.headTotal > MAX_HEAD_BYTES) {
        this.destroyWith(protocolError('the response head exceeds 64 KiB'));
        return -1;
      }
      const interim = this.parseHead(buf.toString('latin1', from, end));
      if (this.dead) return -1;
      from = end + 4;
      if (!interim) return from;
    }
  }

  /**
   * Parses one response head (without its blank line). Returns true for an interim 1xx response
   * to skip; false when the final response is set up. Fails the connection on anything malformed.
   */
  private parseHead(s: string): boolean {
    const n = s.length;
    // Characters: only CRLF line ends, no NUL or other controls except HTAB.
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c !== 0x7f) continue;
      if (c === 0x09) continue;
      if (c === 0x0d && s.charCodeAt(i + 1) === 0x0a) {
        i++;
        continue;
      }
      this.destroyWith(protocolError(c === 0 ? 'NUL in the head' : c === 0x0d ? 'bare CR in the head' : c === 0x0a ? 'bare LF in the head' : 'control character in the head'));
      return false;
    }
    let eol = s.indexOf('\r\n');
    if (eol < 0) eol = n;
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    if (eol < 12 || !s.startsWith('HTTP/1.') || s.charCodeAt(8) !== 0x20 || (eol > 12 && s.charCodeAt(12) !== 0x20)) {
      this.destroyWith(protocolError('bad status line'));
      return false;
    }
    const minor = s.charCodeAt(7);
    if (minor !== 0x30 && minor !== 0x31) {
      this.destroyWith(protocolError('unsupported HTTP version'));
      return false;
    }
    const d0 = s.charCodeAt(9) - 0x30;
    const d1 = s.charCodeAt(10) - 0x30;
    const d2 = s.charCodeAt(11) - 0x30;
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.destroyWith(protocolError('bad status code'));
      return false;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    const http10 = minor === 0x30;

    const headers = Object.create(null) as Record<string, string | string[]>;
    let contentLength = -1;
    let chunked = false;
    let te = false;
    let connClose = false;
    let connKeepAlive = false;
    let kaTimeout = -1;
    let pos = eol + 2;
    while (pos < n) {
      let e = s.indexOf('\r\n', pos);
      if (e < 0) e = n;
      const colon = s.indexOf(':', pos);
      if (colon <= pos || colon > e) {
        this.destroyWith(protocolError(s.charCodeAt(pos) === 0x20 || s.charCodeAt(pos) === 0x09 ? 'obs-fold line' : 'header line without a name'));
        return false;
      }
      if (!isTokenAt(s, pos, colon)) {
        this.destroyWith(protocolError('header name is not a token'));
        return false;
      }
      let vs = colon + 1;
      let ve = e;
      while (vs < ve && (s.charCodeAt(vs) === 0x20 || s.charCodeAt(vs) === 0x09)) vs++;
      while (ve > vs && (s.charCodeAt(ve - 1) === 0x20 || s.charCodeAt(ve - 1) === 0x09)) ve--;
      const value = s.slice(vs, ve);
      const name = headerName(s, pos, colon);
      pos = e + 2;
      switch (name) {
        case 'content-length': {
          const v = parseContentLength(value);
          if (v < 0 || (contentLength >= 0 && v !== contentLength)) {
            this.destroyWith(protocolError(v < 0 ? 'bad Content-Length' : 'conflicting Content-Length values'));
            return false;
          }
          contentLength = v;
          // A literal key: a keyed store whose key is a fresh string on every call re-learns its
          // inline cache each time, and V8 then never optimises this method.
          headers['content-length'] = String(v);
          continue;
        }
        case 'transfer-encoding':
          if (te || value.length !== 7 || value.toLowerCase() !== 'chunked') {
            this.destroyWith(protocolError('unsupported Transfer-Encoding'));
            return false;
          }
          te = true;
          chunked = true;
          break;
        case 'connection':
          if (hasToken(value, 'close')) connClose = true;
          if (hasToken(value, 'keep-alive')) connKeepAlive = true;
          break;
        case 'keep-alive':
          kaTimeout = keepAliveTimeout(value);
          break;
      }
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (typeof prev === 'string') headers[name] = [prev, value];
      else prev.push(value);
    }

    if (status < 200) {
      if (status === 101) {
        this.destroyWith(protocolError('unexpected 101 Switching Protocols'));
        return false;
      }
      return true;
    }
    if (te && contentLength >= 0) {
      this.destroyWith(protocolError('both Content-Length and Transfer-Encoding'));
      return false;
    }
    if (te && http10) {
      this.destroyWith(protocolError('Transfer-Encoding in an HTTP/1.0 response'));
      return false;
    }
    this.keepAlive = http10 ? connKeepAlive && !connClose : !connClose;
    if (kaTimeout >= 0) this.idleMs = Math.min(this.idleMs, kaTimeout * 1000 - 1000);
    const ex = this.ex!;
    if (ex.isHead || status === 204 || status === 304) {
      this.mode = BODY_NONE;
    } else if (chunked) {
      this.mode = BODY_CHUNKED;
      this.chState = CH_SIZE;
      this.line = '';
      this.trailerBytes = 0;
    } else if (contentLength >= 0) {
      this.mode = contentLength === 0 ? BODY_NONE : BODY_LENGTH;
      this.remaining = contentLength;
    } else {
      this.mode = BODY_CLOSE;
      this.keepAlive = false;
    }
    this.status = status;
    this.headers = headers;
    this.timerFor = -1;
    if (this.mode === BODY_NONE) {
      this.phase = PH_DONE;
    } else {
      this.phase = PH_BODY;
      this.arm(ex.bodyTimeout, PH_BODY);
    }
    return false;
  }

  /** Consumes body bytes from `buf` at `off`; returns the offset after the body's last byte. */
  private readBody(buf: Buffer, off: number): number {
    const len = buf.length;
    if (this.mode === BODY_CLOSE) {
      this.emit(off === 0 ? buf : buf.subarray(off));
      return len;
    }
    if (this.mode === BODY_LENGTH) {
      const take = Math.min(this.remaining, len - off);
      this.emit(off === 0 && take === len ? buf : buf.subarray(off, off + take));
      this.remaining -= take;
      if (this.remaining === 0) this.phase = PH_DONE;
      return off + take;
    }
    // Chunked.
    while (off < len && this.phase === PH_BODY) {
      switch (this.chState) {
        case CH_DATA: {
          const take = Math.min(this.remaining, len - off);
          this.emit(buf.subarray(off, off + take));
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) this.chState = CH_DATA_CR;
          break;
        }
        case CH_DATA_CR:
          if (buf[off] !== 0x0d) return this.chunkFail('missing CRLF after chunk data');
          off++;
          this.chState = CH_DATA_LF;
          break;
        case CH_DATA_LF:
          if (buf[off] !== 0x0a) return this.chunkFail('missing CRLF after chunk data');
          off++;
          this.chState = CH_SIZE;
          break;
        case CH_SIZE:
        case CH_TRAILER: {
          const nl = buf.indexOf(0x0a, off);
          const end = nl < 0 ? len : nl;
          const piece = buf.toString('latin1', off, end);
          if (this.chState === CH_SIZE ? this.line.length + piece.length > MAX_CHUNK_LINE : (this.trailerBytes += end - off) > MAX_TRAILER_BYTES) {
            return this.chunkFail(this.chState === CH_SIZE ? 'chunk size line too long' : 'trailers too large');
          }
          this.line = this.line.length === 0 ? piece : this.line + piece;
          if (nl < 0) return len;
          off = nl + 1;
          const line = this.line;
          this.line = '';
          if (line.charCodeAt(line.length - 1) !== 0x0d) return this.chunkFail('bare LF in chunked framing');
          if (this.chState === CH_SIZE) {
            const size = parseChunkSize(line);
            if (size < 0) return this.chunkFail('bad chunk size');
            if (size === 0) {
              this.chState = CH_TRAILER;
            } else {
              this.remaining = size;
              this.chState = CH_DATA;
            }
          } else if (line.length === 1) {
            this.phase = PH_DONE;
          } else if (!isTrailerLine(line)) {
            return this.chunkFail('bad trailer line');
          }
          break;
        }
      }
    }
    return off;
  }

  private chunkFail(what: string): number {
    this.destroyWith(protocolError(what));
    return Number.MAX_SAFE_INTEGER;
  }

  /** One piece of body: kept until the response is handed out, then pushed to the stream. */
  private emit(view: Buffer): void {
    if (view.length === 0) return;
    const b = Buffer.from(view);
    const body = this.body;
    if (body === null) {
      if (this.pre === null) this.pre = [b];
      else this.pre.push(b);
    } else if (!body.destroyed && !body.push(b) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Resolves the request: whole when the body is already complete, else with a stream. */
  private hand(ex: Exchange): void {
    const pre = this.pre;
    this.pre = null;
    if (this.phase === PH_DONE) {
      const whole = pre === null ? EMPTY : pre.length === 1 ? pre[0]! : Buffer.concat(pre);
      ex.detach();
      ex.succeed(new UpstreamResponse(this.status, this.headers!, whole));
      return;
    }
    const r = new UpstreamResponse(this.status, this.headers!, null);
    const body = new UpstreamBody(this);
    this.body = body;
    r.stream = body;
    if (pre !== null) for (const b of pre) this.emit(b);
    ex.succeed(r);
  }

  /** The response is complete on the wire: end the stream and give the socket back. */
  private finish(): void {
    const ex = this.ex;
    const body = this.body;
    this.ex = null;
    this.body = null;
    this.headers = null;
    this.timerFor = -1;
    if (ex !== null) ex.detach();
    if (body !== null) {
      body.conn = null;
      if (!body.destroyed) body.push(null);
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (!this.keepAlive || this.writing || this.idleMs <= 0) {
      this.destroyWith(null);
      return;
    }
    this.pool.release(this);
  }

  /** Called by the pool when the socket becomes idle. */
  goIdle(): void {
    this.phase = PH_IDLE;
    if (this.idleTimer !== null && this.idleTimerMs === this.idleMs) {
      this.idleTimer.refresh();
    } else {
      if (this.idleTimer !== null) clearTimeout(this.idleTimer);
      this.idleTimerMs = this.idleMs;
      this.idleTimer = setTimeout(this.onIdleTimerBound, this.idleMs);
      this.idleTimer.unref();
    }
    // An idle socket does not keep the process alive.
    this.unrefed = true;
    this.socket.unref();
  }

  /** The consumer destroyed the body before its end. */
  bodyDestroyed(): void {
    if (this.body !== null) {
      this.body = null;
      this.destroyWith(null);
    }
  }

  private onEnd(): void {
    if (this.dead) return;
    if (this.phase === PH_BODY && this.mode === BODY_CLOSE) {
      this.phase = PH_DONE;
      this.keepAlive = false;
      const ex = this.ex;
      if (ex !== null && this.status !== 0 && !ex.settled) this.hand(ex);
      this.finish();
      return;
    }
    this.destroyWith(this.ex === null ? null : new UpstreamClosedError(this.phase === PH_HEAD ? 'the upstream closed the connection before answering' : 'the upstream closed the connection before the end of the body'));
  }

  private onError(err: Error): void {
    this.destroyWith(err);
  }

  private onClose(): void {
    if (!this.dead) this.destroyWith(new UpstreamClosedError('the upstream connection closed'));
  }

  /** Ends this connection; the current request (if any) fails with `err`, or may be retried. */
  destroyWith(err: Error | null): void {
    if (this.dead) return;
    this.dead = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.socket.destroy();
    const ex = this.ex;
    const body = this.body;
    this.ex = null;
    this.body = null;
    const phase = this.phase;
    this.phase = PH_DONE;
    this.pool.forget(this);
    const e = err ?? (body !== null || ex !== null ? new UpstreamClosedError('the upstream connection closed') : null);
    if (body !== null) failBody(body, e!);
    if (ex !== null && e !== null) {
      if (!ex.settled && phase !== PH_CONNECT && this.pool.mayRetry(ex, this, e)) return;
      ex.fail(e);
    }
    this.pool.dispatch();
  }

  isUsed(): boolean {
    return this.uses > 1;
  }
}

/** Parses a Content-Length value (one number, or a list of equal numbers); -1 when invalid. */
function parseContentLength(v: string): number {
  let out = -1;
  let cur = -1;
  let digits = 0;
  let i = 0;
  const n = v.length;
  for (;;) {
    const c = i < n ? v.charCodeAt(i) : 0x2c;
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 15) return -1;
      cur = (cur < 0 ? 0 : cur * 10) + (c - 0x30);
    } else if (c === 0x2c) {
      if (cur < 0 || (out >= 0 && out !== cur)) return -1;
      out = cur;
      cur = -1;
      digits = 0;
      if (i >= n) return out;
      // Optional whitespace after the comma.
      while (i + 1 < n && (v.charCodeAt(i + 1) === 0x20 || v.charCodeAt(i + 1) === 0x09)) i++;
    } else if ((c === 0x20 || c === 0x09) && cur >= 0) {
      // Whitespace before a comma.
      while (i + 1 < n && (v.charCodeAt(i + 1) === 0x20 || v.charCodeAt(i + 1) === 0x09)) i++;
      if (i + 1 < n && v.charCodeAt(i + 1) !== 0x2c) return -1;
    } else {
      return -1;
    }
    i++;
  }
}

/** Parses `1a;ext=x\r` (the size line with its CR); -1 when invalid or above 2^48. */
function parseChunkSize(line: string): number {
  const end = line.length - 1;
  let i = 0;
  let size = 0;
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else break;
    if (i >= 12) return -1;
    size = size * 16 + d;
  }
  if (i === 0) return -1;
  while (i < end && (line.charCodeAt(i) === 0x20 || line.charCodeAt(i) === 0x09)) i++;
  if (i < end && line.charCodeAt(i) !== 0x3b) return -1;
  // Extensions are ignored, but may not hide control characters.
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return -1;
  }
  return size;
}

/** A trailer field line (with its CR), checked like a header and then dropped. */
function isTrailerLine(line: string): boolean {
  const colon = line.indexOf(':');
  if (colon <= 0 || !isToken(line.slice(0, colon))) return false;
  for (let i = colon + 1; i < line.length - 1; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Whether the comma-separated list `v` has the token `t` (lower case), ignoring case. */
function hasToken(v: string, t: string): boolean {
  const lv = v.toLowerCase();
  let from = 0;
  for (;;) {
    const i = lv.indexOf(t, from);
    if (i < 0) return false;
    let a = i - 1;
    while (a >= 0 && (lv.charCodeAt(a) === 0x20 || lv.charCodeAt(a) === 0x09)) a--;
    let b = i + t.length;
    while (b < lv.length && (lv.charCodeAt(b) === 0x20 || lv.charCodeAt(b) === 0x09)) b++;
    if ((a < 0 || lv.charCodeAt(a) === 0x2c) && (b >= lv.length || lv.charCodeAt(b) === 0x2c)) return true;
    from = i + 1;
  }
}

/** The `timeout=N` of a Keep-Alive header in seconds, -1 when absent or invalid. */
function keepAliveTimeout(v: string): number {
  const lv = v.toLowerCase();
  const i = lv.indexOf('timeout=');
  if (i < 0 || (i > 0 && lv.charCodeAt(i - 1) !== 0x20 && lv.charCodeAt(i - 1) !== 0x2c && lv.charCodeAt(i - 1) !== 0x09)) return -1;
  let n = 0;
  let j = i + 8;
  const start = j;
  for (; j < lv.length; j++) {
    const c = lv.charCodeAt(j);
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    if (n > 1e6) return -1;
  }
  return j === start ? -1 : n;
}

const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'RAMPART_ERR_UPSTREAM_CLOSED']);

/**
 * A keep-alive pool of HTTP/1.1 connections to one origin.
 *
 * @example
 * const pool = createHttp1Pool(new URL('https://10.0.0.5:8000'), { connections: 16, ca });
 * const r = await pool.request({ method: 'GET', path: '/v1/models', headers: {} });
 * const text = r.complete?.toString() ?? (await text(r.body));
 */
export class Http1Pool {
  readonly tls: boolean;
  readonly connections: number;
  readonly keepAliveTimeout: number;
  readonly connectTimeout: number;
  private readonly headersTimeout: number;
  private readonly bodyTimeout: number;
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly tlsOpts: Record<string, unknown> | null;
  private session: Buffer | undefined;
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private closing = false;
  private onDrained: (() => void) | null = null;
  private closed: Promise<void> | null = null;
  private readonly onSessionBound = (s: Buffer): void => {
    this.session = s;
  };

  constructor(origin: URL, opts: Http1PoolOptions = {}) {
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new TypeError(`unsupported upstream protocol ${origin.protocol}`);
    this.tls = origin.protocol === 'https:';
    this.host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    this.port = origin.port ? Number(origin.port) : this.tls ? 443 : 80;
    this.hostHeader = origin.host;
    this.connections = opts.connections ?? 64;
    this.keepAliveTimeout = opts.keepAliveTimeout ?? 30_000;
    this.connectTimeout = opts.connectTimeout ?? 10_000;
    this.headersTimeout = opts.headersTimeout ?? 60_000;
    this.bodyTimeout = opts.bodyTimeout ?? 60_000;
    this.tlsOpts = this.tls
      ? {
          host: this.host,
          port: this.port,
          servername: opts.servername ?? (isIP(this.host) === 0 ? this.host : undefined),
          ALPNProtocols: ['http/1.1'],
          minVersion: opts.minVersion ?? 'TLSv1.2',
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
          ...(opts.key !== undefined ? { key: opts.key } : {}),
        }
      : null;
  }

  /** Sockets open (busy, idle or connecting) and requests waiting for one; for tests and metrics. */
  get stats(): { open: number; idle: number; queued: number } {
    return { open: this.all.size, idle: this.idle.length, queued: this.queue.length };
  }

  /**
   * Sends one request. Resolves with the response once its head has arrived; rejects with a coded
   * error (or the OS error of the socket) on any failure, or when `signal` aborts.
   */
  request(req: Http1Request): Promise<UpstreamResponse> {
    if (this.closing) return Promise.reject(new UpstreamPoolClosedError());
    if (req.signal?.aborted) return Promise.reject(new UpstreamAbortedError());
    let head: Buffer;
    try {
      head = encodeHead(req.method, req.path, req.headers, req.body, this.hostHeader);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const body = req.body;
    const ex = new Exchange(
      this,
      head,
      body !== undefined && body.length > COPY_BODY_MAX ? body : undefined,
      req.method === 'HEAD',
      IDEMPOTENT_METHODS.has(req.method),
      req.signal,
      req.headersTimeout ?? this.headersTimeout,
      req.bodyTimeout ?? this.bodyTimeout,
    );
    const p = new Promise<UpstreamResponse>((resolve, reject) => {
      ex.resolve = resolve;
      ex.reject = reject;
    });
    if (ex.onAbort !== null) {
      ex.listening = true;
      req.signal!.on('abort', ex.onAbort);
    }
    this.queue.push(ex);
    this.dispatch();
    return p;
  }

  /** Starts queued requests on idle sockets (most recently used first) or new ones. */
  dispatch(): void {
    const q = this.queue;
    while (q.length > 0) {
      const ex = q[0]!;
      if (ex.fresh) {
        if (this.all.size >= this.connections) {
          if (this.idle.length === 0) return;
          this.idle.shift()!.destroyWith(null);
          continue;
        }
        q.shift();
        this.open(ex);
      } else if (this.idle.length > 0) {
        q.shift();
        this.idle.pop()!.start(ex);
      } else if (this.all.size < this.connections) {
        q.shift();
        this.open(ex);
      } else {
        return;
      }
    }
    if (this.closing) this.checkDrained();
  }

  private open(ex: Exchange): void {
    this.all.add(new Conn(this, ex));
  }

  /** @internal */
  openSocket(onRead: (n: number, buf: Buffer) => boolean): Socket {
    const onread = { buffer: READ_BUFFER, callback: onRead };
    if (this.tlsOpts === null) return netConnect({ host: this.host, port: this.port, noDelay: true, onread });
    // tls.connect takes net's onread too (documented; missing from @types/node's ConnectionOptions).
    const opts = this.session !== undefined ? { ...this.tlsOpts, session: this.session, onread } : { ...this.tlsOpts, onread };
    const s = tlsConnect(opts as ConnectionOptions);
    s.setNoDelay(true);
    s.on('session', this.onSessionBound);
    return s;
  }

  /** A socket finished a response and may be reused. */
  release(c: Conn): void {
    if (this.closing && this.queue.length === 0) {
      c.destroyWith(null);
      return;
    }
    const q = this.queue;
    if (q.length > 0 && !q[0]!.fresh) {
      c.start(q.shift()!);
      return;
    }
    c.goIdle();
    this.idle.push(c);
    if (q.length > 0) this.dispatch();
  }

  /** A socket is gone. */
  forget(c: Conn): void {
    this.all.delete(c);
    const i = this.idle.lastIndexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** @internal */
  unqueue(ex: Exchange): void {
    const i = this.queue.indexOf(ex);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.closing) this.checkDrained();
  }

  /**
   * The stale keep-alive rule: a request that failed on a reused socket before any response byte,
   * because the server had closed it, goes once more on a new connection, when it was never
   * written or is idempotent.
   */
  mayRetry(ex: Exchange, c: Conn, err: Error): boolean {
    if (ex.retried || ex.gotBytes || !c.isUsed() || this.closing) return false;
    if (ex.signal?.aborted) return false;
    if (!RETRY_CODES.has((err as { code?: string }).code ?? '')) return false;
    if (ex.written && !ex.idempotent) return false;
    ex.retried = true;
    ex.fresh = true;
    ex.written = false;
    ex.conn = null;
    this.queue.unshift(ex);
    this.dispatch();
    return true;
  }

  private checkDrained(): void {
    if (this.onDrained !== null && this.all.size === 0 && this.queue.length === 0) {
      const done = this.onDrained;
      this.onDrained = null;
      done();
    }
  }

  /** Lets queued and in-flight requests finish (bodies included), then closes every socket. */
  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.closing = true;
    this.closed = new Promise<void>((resolve) => {
      this.onDrained = resolve;
    });
    for (const c of [...this.idle]) c.destroyWith(null);
    this.checkDrained();
    return this.closed;
  }

  /** Fails every queued and in-flight request and closes every socket at once. */
  destroy(): Promise<void> {
    this.closing = true;
    const err = new UpstreamPoolClosedError();
    for (const ex of this.queue.splice(0)) ex.fail(err);
    for (const c of [...this.all]) c.destroyWith(err);
    this.checkDrained();
    return this.closed ?? Promise.resolve();
  }
}

/** Creates the connection pool of one upstream origin (http: or https:). */
export function createHttp1Pool(origin: URL, opts: Http1PoolOptions = {}): Http1Pool {
  return new Http1Pool(origin, opts);
}
