// Prometheus metrics of the gateway, on a Registry of its own (so several gateways in one
// process, as in tests, do not collide and nothing global leaks in). The per-request metrics are
// series.ts's counters and histograms (prom-client's exposition, cheaper updates); the rest are
// prom-client's own.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesCounter, SeriesGauge, SeriesHistogram } from './series.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface GatewayMetrics {
  registry: Registry;
  inflight: SeriesGauge;
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
const LABELS = (names: readonly string[], values: readonly string[]): Record<string, string> => Object.fromEntries(names.map((n, i) => [n, values[i]!]));

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
  const requests = new SeriesCounter('rampart_gateway_requests_total', 'Requests handled, by route, model, policy decision and HTTP status.', registry);
  const duration = new SeriesHistogram('rampart_gateway_request_duration_seconds', 'Total time from request arrival to the end of the response.', registry, LATENCY_BUCKETS);
  const upstreamDuration = new SeriesHistogram(
    'rampart_gateway_upstream_duration_seconds',
    'Time from sending the request upstream to the end of the upstream response.',
    registry,
    LATENCY_BUCKETS,
  );
  const tokens = new SeriesCounter('rampart_gateway_tokens_total', 'Tokens reported by upstreams in OpenAI usage objects, by model and kind (prompt, completion).', registry);
  const inflight = new SeriesGauge('rampart_gateway_requests_in_flight', 'Requests being handled now.', registry);
  // Route, model and decision come from fixed sets (configured models only); status is a number.
  const reqMemo = memo<{ inc(): void }>();
  const durMemo = memo<{ observe(v: number): void }>();
  const upMemo = memo<{ observe(v: number): void }>();
  const tokMemo = memo<{ inc(n: number): void }>();
  return {
    registry,
    requestsFor: (route, model, decision, status) => {
      const key = `${route}\u0000${model}\u0000${decision}\u0000${status}`;
      return reqMemo(key, () => requests.child(key, LABELS(['route', 'model', 'decision', 'status'], [route, model, decision, String(status)])));
    },
    durationFor: (route, model) => {
      const key = `${route}\u0000${model}`;
      return durMemo(key, () => duration.child(key, LABELS(['route', 'model'], [route, model])));
    },
    upstreamDurationFor: (model) => upMemo(model, () => upstreamDuration.child(model, { model })),
    tokensFor: (model, kind) => {
      const key = `${model}\u0000${kind}`;
      return tokMemo(key, () => tokens.child(key, LABELS(['model', 'kind'], [model, kind])));
    },
    inflight,
    certReloads: new Counter({
      name: 'rampart_gateway_cert_reloads_total',
      help: 'Reloads of the listener certificate, by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
