// The demo's KServe v2 model server: a digits classifier trained at start-up on the shipped data
// set, served over HTTP or HTTPS with the Open Inference Protocol REST routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { BodyTooLargeError, listen, readBody, sendJson, type RunningServer, type ServerTls } from '../http.js';
import { DIGITS_CLASSES, loadDigits } from './digits.js';
import { accuracy, splitTrainTest, trainClassifier, type Dataset, type DenseModel, type TrainOptions } from './model.js';
import { describeClassifier, infer, modelMetadata, V2Error, type ModelDescription } from './v2-protocol.js';

export interface TrainedDigits {
  model: DenseModel;
  /** Accuracy on the held-out rows (never seen in training). */
  testAccuracy: number;
  trainMs: number;
  train: Dataset;
  test: Dataset;
}

/** Default seed and split of the demo model; fixed so every run serves the same weights. */
export const DIGITS_SEED = 20261128;
export const DIGITS_TEST_FRACTION = 0.2;

/** Trains the demo digits classifier (softmax regression by default; `hidden` adds a ReLU layer). */
export function trainDigits(options: TrainOptions = {}, data: Dataset = loadDigits()): TrainedDigits {
  const seed = options.seed ?? DIGITS_SEED;
  const { train, test } = splitTrainTest(data, DIGITS_TEST_FRACTION, seed);
  const t0 = performance.now();
  const model = trainClassifier(train, DIGITS_CLASSES, { inputScale: 1 / 16, ...options, seed });
  const trainMs = performance.now() - t0;
  return { model, testAccuracy: accuracy(model, test), trainMs, train, test };
}

export interface ClassifierServerOptions {
  model: DenseModel;
  /** Public model name (default `digits`). */
  name?: string;
  host?: string;
  port?: number;
  tls?: ServerTls;
  logger?: Logger;
  /** Largest request body (default 8 MiB). */
  bodyLimit?: number;
  maxBatch?: number;
}

/**
 * Starts the KServe v2 server. Routes: `GET /v2`, `GET /v2/health/live|ready`,
 * `GET /v2/models/{name}[/versions/1]`, `GET /v2/models/{name}[/versions/1]/ready`,
 * `POST /v2/models/{name}[/versions/1]/infer`. Errors are `{"error": "..."}`.
 */
export async function startClassifierServer(opts: ClassifierServerOptions): Promise<RunningServer> {
  const log = opts.logger ?? silentLogger();
  const desc = describeClassifier(opts.name ?? 'digits', opts.model, opts.maxBatch);
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, opts.model, desc, bodyLimit).catch((err: unknown) => {
      log.error({ err }, 'classifier request failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  };
  const server = await listen(handler, { host: opts.host, port: opts.port, tls: opts.tls });
  log.info({ url: server.url, model: desc.name }, 'KServe v2 classifier listening');
  return server;
}

async function route(req: IncomingMessage, res: ServerResponse, model: DenseModel, desc: ModelDescription, bodyLimit: number): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const method = req.method ?? 'GET';
  if (path === '/v2/health/live') return get(method, res, { live: true });
  if (path === '/v2/health/ready') return get(method, res, { ready: true });
  if (path === '/v2' || path === '/v2/') return get(method, res, { name: 'rampart-demo-kserve', version: '1', extensions: [] });
  const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?\/?$/.exec(path);
  if (!m) return sendJson(res, 404, { error: `no route for ${method} ${path}` });
  const name = decodeURIComponent(m[1]!);
  if (name !== desc.name) return sendJson(res, 404, { error: `model "${name}" not found` });
  if (m[2] !== undefined && m[2] !== desc.version) return sendJson(res, 404, { error: `model "${name}" has no version "${m[2]}"` });
  if (m[3] === '/ready') return get(method, res, { name: desc.name, ready: true });
  if (m[3] === undefined) return get(method, res, modelMetadata(desc));
  if (method !== 'POST') return sendJson(res, 405, { error: 'infer takes POST' }, { allow: 'POST' });
  let raw: Buffer;
  try {
    raw = await readBody(req, bodyLimit);
  } catch (e) {
    if (e instanceof BodyTooLargeError) return sendJson(res, 413, { error: `request body over ${bodyLimit} bytes` }, { connection: 'close' });
    throw e;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: 'request body is not valid JSON' });
  }
  try {
    sendJson(res, 200, infer(model, desc, body));
  } catch (e) {
    if (e instanceof V2Error) return sendJson(res, e.status, { error: e.message });
    throw e;
  }
}

function get(method: string, res: ServerResponse, body: unknown): void {
  if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: 'use GET' }, { allow: 'GET' });
  sendJson(res, 200, body);
}
