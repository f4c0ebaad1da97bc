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
}

export function createMetrics(withProcessMetrics: boolean): GatewayMetrics {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'rampart_' });
  return {
    registry,
    requests: new Counter({
      name: 'rampart_gateway_requests_total',
      help: 'Requests handled, by route, model, policy decision and HTTP status.',
      labelNames: ['route', 'model', 'decision', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rampart_gateway_request_duration_seconds',
      help: 'Total time from request arrival to the end of the response.',
      labelNames: ['route', 'model'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'rampart_gateway_upstream_duration_seconds',
      help: 'Time from sending the request upstream to the end of the upstream response.',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inflight: new Gauge({
      name: 'rampart_gateway_requests_in_flight',
      help: 'Requests being handled now.',
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'rampart_gateway_tokens_total',
      help: 'Tokens reported by upstreams in OpenAI usage objects, by model and kind (prompt, completion).',
      labelNames: ['model', 'kind'],
      registers: [registry],
    }),
    certReloads: new Counter({
      name: 'rampart_gateway_cert_reloads_total',
      help: 'Reloads of the listener certificate, by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
