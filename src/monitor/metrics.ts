// Prometheus metrics of the monitor: alerts by detector and severity, detector lag (event time to
// evaluation), sink delivery failures and successes, events dropped by the bus.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MonitorMetrics {
  registry: Registry;
  alerts: Counter<'detector' | 'severity'>;
  detectorLag: Histogram<'detector'>;
  deliveries: Counter<'sink'>;
  deliveryFailures: Counter<'sink'>;
  eventsDropped: Counter;
  notificationsSuppressed: Counter;
  warmupEvents: Gauge;
}

/** Registers the monitor's metrics on `registry` (the gateway's, so /metrics shows them) or a new one. */
export function createMonitorMetrics(registry: Registry = new Registry()): MonitorMetrics {
  return {
    registry,
    alerts: new Counter({ name: 'rampart_alerts_total', help: 'Detections by detector and severity (new alerts and repeats).', labelNames: ['detector', 'severity'], registers: [registry] }),
    detectorLag: new Histogram({
      name: 'rampart_detector_lag_seconds',
      help: 'Time from an event to its evaluation by the detectors.',
      labelNames: ['detector'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers: [registry],
    }),
    deliveries: new Counter({ name: 'rampart_alert_deliveries_total', help: 'Alert notifications delivered, by sink.', labelNames: ['sink'], registers: [registry] }),
    deliveryFailures: new Counter({ name: 'rampart_alert_delivery_failures_total', help: 'Failed alert delivery attempts, by sink.', labelNames: ['sink'], registers: [registry] }),
    eventsDropped: new Counter({ name: 'rampart_events_dropped_total', help: 'Events dropped because the event bus queue was full.', registers: [registry] }),
    notificationsSuppressed: new Counter({ name: 'rampart_alert_notifications_suppressed_total', help: 'Notifications not sent because of the rate limit.', registers: [registry] }),
    warmupEvents: new Gauge({ name: 'rampart_monitor_warmup_events', help: 'Stored events replayed through the detectors at start-up.', registers: [registry] }),
  };
}

/** Registers the monitor's metrics on another registry too (the gateway's, served on /metrics). */
export function attachMonitorMetrics(registry: Registry, m: MonitorMetrics): void {
  const names = ['rampart_alerts_total', 'rampart_detector_lag_seconds', 'rampart_alert_deliveries_total', 'rampart_alert_delivery_failures_total', 'rampart_events_dropped_total', 'rampart_alert_notifications_suppressed_total', 'rampart_monitor_warmup_events'];
  for (const name of names) {
    const metric = m.registry.getSingleMetric(name);
    if (metric && !registry.getSingleMetric(name)) registry.registerMetric(metric);
  }
}
