// Prometheus metrics of the guard pipeline, registered on the gateway's own registry.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface GuardMetrics {
  verdicts: Counter<'guard' | 'kind' | 'phase' | 'action' | 'shadow'>;
  duration: Histogram<'guard' | 'phase'>;
  errors: Counter<'guard'>;
}

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createGuardMetrics(registry: Registry): GuardMetrics {
  return {
    verdicts: new Counter({
      name: 'rampart_guard_verdicts_total',
      help: 'Guard verdicts, by guard, kind, phase (request, response, stream), action (allow, flag, redact, block, error) and shadow mode.',
      labelNames: ['guard', 'kind', 'phase', 'action', 'shadow'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rampart_guard_duration_seconds',
      help: 'Time spent in one guard per request and phase (for streams: the sum over all chunks).',
      labelNames: ['guard', 'phase'],
      buckets: BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'rampart_guard_errors_total',
      help: 'Guard failures and timeouts (each then applied onError: block or allow).',
      labelNames: ['guard'],
      registers: [registry],
    }),
  };
}
