// Counters, a gauge and histograms for the gateway's per-request metrics, exported through a
// prom-client Registry (which reads a metric's `get()` / `getForPromString()`; the objects below
// give exactly what prom-client's own Counter, Gauge and Histogram give for the same updates, so
// /metrics and the cluster's AggregatorRegistry see no difference; see series.test.ts).
//
// Why not prom-client's classes on the hot path: every update of a labelled child there builds a
// label object, validates it, hashes its sorted names and looks the series up again, about a
// microsecond per call and four calls per request. Here a child is resolved once per label set
// and an update is an addition on a field (and, for a histogram, a short bucket search).
import type { Metric, Registry, RegistryContentType } from 'prom-client';

type Labels = Record<string, string>;

interface ValuePair {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  sharedLabels?: Labels;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: ValuePair[];
  aggregator: 'sum';
}

abstract class SeriesMetric {
  readonly aggregator = 'sum' as const;
  abstract readonly type: MetricData['type'];

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry<RegistryContentType>,
  ) {
    // prom-client's registry only calls name, type, aggregator, get() and getForPromString().
    registry.registerMetric(this as unknown as Metric);
  }

  protected data(values: ValuePair[]): MetricData {
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A monotonic counter with labels. */
export class SeriesCounter extends SeriesMetric {
  readonly type = 'counter' as const;
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  /**
   * The series of `labels`, which `key` names (equal keys for equal label sets: the caller's memo
   * key). Increments that are not finite and >= 0 are ignored.
   */
  child(key: string, labels: Labels): { inc(n?: number): void } {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, value: 0 };
      this.series.set(key, s);
    }
    const series = s;
    return {
      inc(n = 1): void {
        if (n >= 0 && n !== Number.POSITIVE_INFINITY) series.value += n;
      },
    };
  }

  get(): Promise<MetricData> {
    return Promise.resolve(this.data([...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }))));
  }
}

/** A gauge without labels. */
export class SeriesGauge extends SeriesMetric {
  readonly type = 'gauge' as const;
  private value = 0;

  inc(): void {
    this.value++;
  }

  dec(): void {
    this.value--;
  }

  get(): Promise<MetricData> {
    return Promise.resolve(this.data([{ labels: {}, value: this.value }]));
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative); above the last bound only `count` counts them. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with labels and fixed upper bounds (ascending). */
export class SeriesHistogram extends SeriesMetric {
  readonly type = 'histogram' as const;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    help: string,
    registry: Registry<RegistryContentType>,
    private readonly bounds: readonly number[],
  ) {
    super(name, help, registry);
  }

  /** The series of `labels`, named by `key` (as SeriesCounter.child). Values that are not finite are ignored. */
  child(key: string, labels: Labels): { observe(v: number): void } {
    const bounds = this.bounds;
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels, counts: new Float64Array(bounds.length), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    const s = found;
    return {
      observe(v: number): void {
        if (!Number.isFinite(v)) return;
        let i = 0;
        while (i < bounds.length && v > bounds[i]!) i++;
        if (i < bounds.length) s.counts[i]!++;
        s.sum += v;
        s.count++;
      },
    };
  }

  /** As prom-client's Histogram: buckets labelled `le` first, the series' labels shared. */
  getForPromString(): Promise<MetricData> {
    const out: ValuePair[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        out.push({ labels: { le: this.bounds[i]! }, value: acc, metricName: bucket, sharedLabels: s.labels });
      }
      out.push({ labels: { le: '+Inf' } as unknown as Record<string, number>, value: s.count, metricName: bucket, sharedLabels: s.labels });
      out.push({ labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels });
      out.push({ labels: {}, value: s.count, metricName: `${this.name}_count`, sharedLabels: s.labels });
    }
    return Promise.resolve(this.data(out));
  }

  /** As prom-client's Histogram.get(): the same values with the shared labels folded into `labels`. */
  async get(): Promise<MetricData> {
    const d = await this.getForPromString();
    d.values = d.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return d;
  }
}
