// Prometheus metrics of the gateway, on a Registry of its own (so several gateways in one
// process, as in tests, do not collide and nothing global leaks in).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'route' | 'model' | 'decision' | 'status'>;
  duration: Histogram<'route' | 'model'>;
  upstreamDuration: Histogram<'model'>;
  inflight: Gauge;
  tokens: Counter<'model' | 'kind'>;
  certReloads: Counter<'result'>;
  /** The requests counter's child for these labels, memoised (prom-client re-hashes label objects on every call). */
  requestsFor(route: string, model: string, decision: string, status: number): { inc(): void };
  /** The duration histogram's child for these labels, memoised. */
  durationFor(route: string, model: string): { observe(v: number): void };
  /** The upstream duration histogram's child for a model, memoised. */
  upstreamDurationFor(model: string): { observe(v: number): void };
  /** The tokens counter's child for a model and kind, memoised. */
  tokensFor(model: string, kind: 'prompt' | 'completion'): { inc(n: number): void };
}

/** Label combinations memoised per metric; past this many, children are looked up each time. */
const MAX_MEMO = 4096;

/** A lookup of label children by key, made on first use (bounded by MAX_MEMO). */
function memo<T>(): (key: string, make: () => T) => T {
  const m = new Map<string, T>();
  return (key, make) => {
    let c = m.get(key);
    if (c === undefined) {
      c = make();
      if (m.size < MAX_MEMO) m.set(key, c);
    }
    return c;
  };
}

export function createMetrics(withProcessMetrics: boolean): GatewayMetrics {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'rampart_' });
  const requests = new Counter({
      name: 'rampart_gateway_requests_total',
      help: 'Requests handled, by route, model, policy decision and HTTP status.',
      labelNames: ['route', 'model', 'decision', 'status'],
      registers: [registry],
    });
  const duration = new Histogram({
      name: 'rampart_gateway_request_duration_seconds',
      help: 'Total time from request arrival to the end of the response.',
      labelNames: ['route', 'model'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  const upstreamDuration = new Histogram({
    name: 'rampart_gateway_upstream_duration_seconds',
    help: 'Time from sending the request upstream to the end of the upstream response.',
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'rampart_gateway_tokens_total',
    help: 'Tokens reported by upstreams in OpenAI usage objects, by model and kind (prompt, completion).',
    labelNames: ['model', 'kind'],
    registers: [registry],
  });
  // Route, model and decision come from fixed sets (configured models only); status is a number.
  const reqMemo = memo<{ inc(): void }>();
  const durMemo = memo<{ observe(v: number): void }>();
  const upMemo = memo<{ observe(v: number): void }>();
  const tokMemo = memo<{ inc(n: number): void }>();
  return {
    registry,
    requests,
    duration,
    requestsFor: (route, model, decision, status) =>
      reqMemo(`${route}\u0000${model}\u0000${decision}\u0000${status}`, () => requests.labels({ route, model, decision, status: String(status) })),
    durationFor: (route, model) => durMemo(`${route}\u0000${model}`, () => duration.labels({ route, model })),
    upstreamDurationFor: (model) => upMemo(model, () => upstreamDuration.labels({ model })),
    tokensFor: (model, kind) => tokMemo(`${model}\u0000${kind}`, () => tokens.labels({ model, kind })),
    upstreamDuration,
    inflight: new Gauge({
      name: 'rampart_gateway_requests_in_flight',
      help: 'Requests being handled now.',
      registers: [registry],
    }),
    tokens,
    certReloads: new Counter({
      name: 'rampart_gateway_cert_reloads_total',
      help: 'Reloads of the listener certificate, by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
