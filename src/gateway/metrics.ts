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
  /** The requests counter's child for these labels, memoised (no key string or label object per call). */
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

/**
 * Label children memoised by their label values, one Map per label level (bounded by MAX_MEMO
 * children in all): looking one up builds no key string, so a request's metrics allocate nothing.
 */
class Memo<T> {
  private readonly root = new Map<string | number, unknown>();
  private size = 0;

  constructor(private readonly make: (values: (string | number)[]) => T) {}

  get1(a: string): T {
    return (this.root.get(a) as T | undefined) ?? this.add([a]);
  }

  get2(a: string, b: string): T {
    return ((this.root.get(a) as Map<string, T> | undefined)?.get(b) as T | undefined) ?? this.add([a, b]);
  }

  get4(a: string, b: string, c: string, d: number): T {
    const m2 = this.root.get(a) as Map<string, Map<string, Map<number, T>>> | undefined;
    return m2?.get(b)?.get(c)?.get(d) ?? this.add([a, b, c, d]);
  }

  private add(values: (string | number)[]): T {
    const child = this.make(values);
    if (this.size >= MAX_MEMO) return child;
    this.size++;
    let m = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = m.get(values[i]!) as Map<string | number, unknown> | undefined;
      if (next === undefined) m.set(values[i]!, (next = new Map()));
      m = next;
    }
    m.set(values[values.length - 1]!, child);
    return child;
  }
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
  const key = (values: (string | number)[]): string => values.join('\u0000');
  const reqMemo = new Memo((v) => requests.child(key(v), LABELS(['route', 'model', 'decision', 'status'], v.map(String))));
  const durMemo = new Memo((v) => duration.child(key(v), LABELS(['route', 'model'], v.map(String))));
  const upMemo = new Memo((v) => upstreamDuration.child(String(v[0]), { model: String(v[0]) }));
  const tokMemo = new Memo((v) => tokens.child(key(v), LABELS(['model', 'kind'], v.map(String))));
  return {
    registry,
    requestsFor: (route, model, decision, status) => reqMemo.get4(route, model, decision, status),
    durationFor: (route, model) => durMemo.get2(route, model),
    upstreamDurationFor: (model) => upMemo.get1(model),
    tokensFor: (model, kind) => tokMemo.get2(model, kind),
    inflight,
    certReloads: new Counter({
      name: 'rampart_gateway_cert_reloads_total',
      help: 'Reloads of the listener certificate, by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
