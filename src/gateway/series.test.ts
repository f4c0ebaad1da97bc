import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../detect/random.js';
import { SeriesCounter, SeriesGauge, SeriesHistogram } from './series.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The same seeded updates on prom-client's own metrics (registry `ref`) and on series.ts's (registry `ours`). */
function feed(seed: number): { ref: Registry<RegistryContentType>; ours: Registry<RegistryContentType> } {
  const ref = new Registry<RegistryContentType>();
  const ours = new Registry<RegistryContentType>();
  const rc = new Counter({ name: 'x_requests_total', help: 'Requests "quoted" \\ and more.', labelNames: ['route', 'status'], registers: [ref] });
  const rh = new Histogram({ name: 'x_duration_seconds', help: 'Durations.', labelNames: ['route', 'model'], buckets: BOUNDS, registers: [ref] });
  const rg = new Gauge({ name: 'x_in_flight', help: 'In flight.', registers: [ref] });
  const oc = new SeriesCounter('x_requests_total', 'Requests "quoted" \\ and more.', ours);
  const oh = new SeriesHistogram('x_duration_seconds', 'Durations.', ours, BOUNDS);
  const og = new SeriesGauge('x_in_flight', 'In flight.', ours);
  const rnd = mulberry32(seed);
  const routes = ['openai.chat.completions', 'kserve.infer', 'odd "route"\\\n'];
  const models = ['chat', 'digits', ''];
  for (let i = 0; i < 3000; i++) {
    const route = routes[Math.floor(rnd() * routes.length)]!;
    const model = models[Math.floor(rnd() * models.length)]!;
    const status = String([200, 403, 429, 502][Math.floor(rnd() * 4)]);
    const n = rnd() < 0.9 ? 1 : Math.floor(rnd() * 500);
    rc.labels({ route, status }).inc(n);
    oc.child(`${route}\u0000${status}`, { route, status }).inc(n);
    // Values on, between and beyond the bounds, and some far out.
    const r = rnd();
    const v = r < 0.2 ? BOUNDS[Math.floor(rnd() * BOUNDS.length)]! : r < 0.95 ? rnd() * rnd() * 3 : 100 + rnd() * 1000;
    rh.labels({ route, model }).observe(v);
    oh.child(`${route}\u0000${model}`, { route, model }).observe(v);
    if (rnd() < 0.6) {
      rg.inc();
      og.inc();
    } else {
      rg.dec();
      og.dec();
    }
  }
  return { ref, ours };
}

describe('series metrics', () => {
  it('expose exactly what prom-client exposes for the same updates (text and OpenMetrics formats)', async () => {
    for (const seed of [1, 2, 3]) {
      const { ref, ours } = feed(seed);
      expect(await ours.metrics()).toBe(await ref.metrics());
      ref.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      ours.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      expect(await ours.metrics()).toBe(await ref.metrics());
    }
  });

  it('give the same JSON, and the same sums across processes through AggregatorRegistry', async () => {
    const a = feed(7);
    const b = feed(8);
    // prom-client's values also carry an empty `exemplar` field (exemplars are not used here).
    const plain = (ms: Awaited<ReturnType<Registry<RegistryContentType>['getMetricsAsJSON']>>): unknown =>
      ms.map((m) => ({ ...m, values: m.values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })) }));
    expect(plain(await a.ours.getMetricsAsJSON())).toEqual(plain(await a.ref.getMetricsAsJSON()));
    const refSum = AggregatorRegistry.aggregate([await a.ref.getMetricsAsJSON(), await b.ref.getMetricsAsJSON()]);
    const ourSum = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]);
    expect(await ourSum.metrics()).toBe(await refSum.metrics());
  });

  it('keep one series per key, and ignore updates a counter or histogram cannot take', async () => {
    const r = new Registry();
    const c = new SeriesCounter('c_total', 'c', r);
    const h = new SeriesHistogram('h_seconds', 'h', r, [1, 2]);
    for (let i = 0; i < 3; i++) c.child('k', { a: 'x' }).inc();
    c.child('k', { a: 'x' }).inc(-5);
    c.child('k', { a: 'x' }).inc(Number.NaN);
    c.child('k', { a: 'x' }).inc(Number.POSITIVE_INFINITY);
    h.child('k', { a: 'x' }).observe(Number.NaN);
    h.child('k', { a: 'x' }).observe(1.5);
    const text = await r.metrics();
    expect(text).toContain('c_total{a="x"} 3');
    expect(text).toContain('h_seconds_count{a="x"} 1');
    expect(text).toContain('h_seconds_bucket{le="1",a="x"} 0');
    expect(text).toContain('h_seconds_bucket{le="2",a="x"} 1');
    expect((await r.getMetricsAsJSON()).find((m) => m.name === 'c_total')!.values).toHaveLength(1);
  });
});
