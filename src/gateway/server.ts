// The gateway's listener: node:https (TLS 1.2+, 1.3 preferred, optional mTLS, certificates
// reloaded from disk without dropping connections) or, only when explicitly allowed, node:http.
// Requests are read by the gateway's own HTTP/1.1 front (http1/server.ts) for the common strict
// subset of HTTP/1.1, by node:http for the rest (server.httpFront).
// Sets the slow-client limits, answers malformed requests with JSON, and shuts down gracefully:
// stop accepting, let in-flight requests finish (up to server.drainTimeout), then flush the audit.
import { STATUS_CODES, createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { loadTlsOptions, watchTlsFiles, type TlsWatcher } from '../tls/reload.js';
import { HeadersTooLargeError, ListenFailedError, RequestTimeoutError, TlsLoadError } from './errors.js';
import { RequestHandler, type PipelineDeps } from './handler.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { errorBody, toHttpError } from './respond.js';
import { BadRequestError } from './errors.js';
import { trustedProxyList } from './request.js';
import { attachHttp1Front } from './http1/server.js';
import { closeUpstreams, createUpstreams } from './upstream.js';
import type { GuardFactory } from '../guards/types.js';
import { GuardPipeline } from '../guards/pipeline.js';
import { createGuardMetrics } from '../guards/metrics.js';
import { GuardConfigInvalidError } from '../guards/errors.js';
import type { Store } from '../store/types.js';

export interface GatewayDeps extends PipelineDeps {
  /** Called last when the gateway closes (e.g. closes the store that the wiring opened). */
  onClose?: () => Promise<void>;
  /** Called once with the gateway's metrics registry, so other layers (the monitor) appear on /metrics. */
  onMetrics?: (registry: GatewayMetrics['registry']) => void;
  /** Extra guard kinds besides the built-ins of src/guards/registry.ts (tests, embedders). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each factory has its own options type
  guardFactories?: readonly GuardFactory<any>[];
  /** The store guards keep their state in, when the guards are built here (wire.ts builds them otherwise). */
  store?: Store;
}

export interface RunningGateway {
  /** Base URL, e.g. `https://127.0.0.1:8443`. */
  url: string;
  port: number;
  /** The gateway's metrics registry (also served on observability.metrics.path). */
  metrics: GatewayMetrics;
  /** Stops accepting, drains in-flight requests, flushes the audit log and closes everything. Idempotent. */
  close(): Promise<void>;
}

export interface CreateGatewayOptions {
  logger: Logger;
  /** Register process-level metrics (CPU, memory, event loop) too. Default true. */
  processMetrics?: boolean;
  /** Folder that relative paths in guard options resolve against (the config file's folder). */
  baseDir?: string;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ListenFailedError(`server.listen must be host:port, got "${listen}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * Starts a gateway from a validated config and ready-made layers. `startGateway` (index.ts) wires
 * the real layers; tests may pass their own.
 */
export async function createGateway(config: GatewayConfig, deps: GatewayDeps, opts: CreateGatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger.child({ component: 'gateway' });
  const { host, port } = parseListen(config.server.listen);
  const tls = config.server.tls;
  const metrics = createMetrics(opts.processMetrics ?? true);
  deps.onMetrics?.(metrics.registry);
  // Guards are built before anything listens, so a bad guard config stops start-up.
  const guards =
    deps.guards !== undefined
      ? deps.guards
      : await GuardPipeline.build(
          config.guards,
          { logger: logger.child({ component: 'guards' }), store: deps.store ?? storeless(), emit: () => undefined, baseDir: opts.baseDir ?? process.cwd(), models: config.models },
          deps.guardFactories,
        );
  guards?.bindMetrics(createGuardMetrics(metrics.registry));
  const upstreams = createUpstreams(config.models);
  const handler = new RequestHandler(config, { ...deps, guards }, upstreams, metrics, logger, trustedProxyList(config.server.trustedProxies), tls ? 'https' : 'http');

  const common = {
    headersTimeout: config.server.headersTimeout,
    requestTimeout: config.server.requestTimeout,
    keepAliveTimeout: config.server.keepAliveTimeout,
    // Check the slow-client timers often enough that the configured values hold to within a second.
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(config.server.headersTimeout / 4))),
    noDelay: true,
    // Deliberately no `maxHeaderSize` override: Node's 16 KiB is plenty for API clients.
  };

  let server: HttpServer | HttpsServer;
  let watcher: TlsWatcher | null = null;
  if (tls) {
    const files = { cert: tls.cert, key: tls.key, clientCa: tls.clientCa, minVersion: tls.minVersion };
    let ctxOpts;
    try {
      ctxOpts = loadTlsOptions(files);
    } catch (e) {
      throw new TlsLoadError(`cannot load server.tls files: ${(e as Error).message}`, { cause: e });
    }
    const mtls = tls.clientCa !== undefined;
    const https = createHttpsServer(
      {
        ...common,
        ...ctxOpts,
        requestCert: mtls,
        rejectUnauthorized: mtls && tls.requireClientCert,
        ALPNProtocols: ['http/1.1'],
      },
      handler.handle,
    );
    server = https;
    watcher = watchTlsFiles(
      files,
      tls.reloadInterval,
      (next) => {
        https.setSecureContext(next);
        metrics.certReloads.inc({ result: 'ok' });
        logger.info({ cert: tls.cert }, 'TLS certificate reloaded');
      },
      (err) => {
        metrics.certReloads.inc({ result: 'error' });
        logger.warn({ err: { message: (err as Error).message }, cert: tls.cert }, 'TLS files changed but cannot be loaded; keeping the current certificate');
      },
    );
    https.on('tlsClientError', (err: Error & { code?: string }) => {
      logger.debug({ err: { code: err.code, message: err.message } }, 'TLS handshake failed');
    });
  } else {
    server = createHttpServer(common, handler.handle);
    logger.warn({ listen: config.server.listen }, 'serving PLAIN HTTP (server.allowPlainHttp): credentials and model traffic are not encrypted');
  }

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => onClientError(err, socket, logger));
  const front =
    config.server.httpFront === 'rampart'
      ? attachHttp1Front(server, tls ? 'secureConnection' : 'connection', {
          headersTimeout: config.server.headersTimeout,
          requestTimeout: config.server.requestTimeout,
          keepAliveTimeout: config.server.keepAliveTimeout,
          onRequest: handler.handle,
          timeoutAnswer: () => rawErrorAnswer(new RequestTimeoutError()),
        })
      : null;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      watcher?.close();
      reject(new ListenFailedError(`cannot listen on ${config.server.listen}: ${e.code ?? e.message}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch(async (e: unknown) => {
    await closeUpstreams(upstreams);
    await guards?.close();
    throw e;
  });
  server.on('error', (e) => logger.error({ err: e }, 'server error'));

  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  const url = `${tls ? 'https' : 'http'}://${urlHost}:${boundPort}`;
  handler.ready = true;
  logger.info({ url, mtls: Boolean(tls?.clientCa), models: config.models.map((m) => m.name) }, 'gateway listening');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      handler.draining = true;
      watcher?.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      front?.closeIdle();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        handler.whenIdle().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), config.server.drainTimeout);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) logger.warn({ inFlight: handler.inFlight }, 'drain timeout: cutting the remaining connections');
      server.closeAllConnections();
      front?.closeAll();
      await closed;
      // Connections cut above still run their finish() (audit record) on 'close': let them.
      await handler.whenIdle();
      await closeUpstreams(upstreams);
      const steps: [string, () => Promise<void>][] = [
        ['guards', () => (guards ? guards.close() : Promise.resolve())],
        ['audit', () => deps.audit.close()],
        ['authenticator', () => deps.authenticator.close()],
        ['wiring', () => (deps.onClose ? deps.onClose() : Promise.resolve())],
      ];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (e) {
          logger.error({ err: e, what }, 'error while closing');
        }
      }
      logger.info('gateway stopped');
    })();
    return closing;
  };

  return { url, port: boundPort, metrics, close };
}

/** The store of a gateway started without one: a guard that needs it fails at start-up, with a code. */
function storeless(): Store {
  return new Proxy({} as Store, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new GuardConfigInvalidError(`a guard needs the gateway's store (store.${String(prop)}), but this gateway was created without one`);
    },
  });
}

/** A complete HTTP/1.1 error answer that closes the connection, for requests that never reached the handler. */
function rawErrorAnswer(err: Error): string {
  const h = toHttpError(err);
  const body = errorBody('infra', h);
  return (
    `HTTP/1.1 ${h.status} ${STATUS_CODES[h.status] ?? 'Error'}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Malformed or slow requests that never reached the handler still get a JSON answer. */
function onClientError(err: Error & { code?: string }, socket: Duplex, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let e;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') e = new RequestTimeoutError();
  else if (err.code === 'HPE_HEADER_OVERFLOW') e = new HeadersTooLargeError();
  else e = new BadRequestError('malformed HTTP request');
  logger.debug({ err: { code: err.code } }, 'client error');
  socket.end(rawErrorAnswer(e));
}
