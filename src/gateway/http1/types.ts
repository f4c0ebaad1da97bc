// What the gateway's request pipeline needs of a request and a response: the members that both
// node:http (IncomingMessage, ServerResponse) and the gateway's own HTTP/1.1 front (server.ts)
// provide, so one handler serves connections of either.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';

export interface GatewaySocket {
  readonly remoteAddress?: string | undefined;
  /** TLS sockets: whether the client certificate chained to the configured CA. */
  readonly authorized?: boolean;
  getPeerCertificate?(detailed?: boolean): PeerCertificate;
}

export interface GatewayRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: GatewaySocket;
  /** The whole body has arrived. */
  readonly complete: boolean;
  pause(): unknown;
}

export interface GatewayResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): unknown;
  flushHeaders(): void;
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  destroy(): unknown;
  on(event: 'close' | 'drain', listener: () => void): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  off(event: 'close' | 'drain', listener: () => void): unknown;
}
