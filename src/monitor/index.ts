// Public entry of the monitor: runtime, config schema, alerts API, sinks, detectors, simulator.
export { createMonitor, type Monitor, type MonitorOptions } from './monitor.js';
export { monitoringSchema, ruleSchema, sinkSchema, type MonitoringConfig, type RuleConfig, type SinkConfig } from './config.js';
export { AlertManager, transitionAlert, listAlerts, ALERT_SCHEMA, type AlertNotification } from './alerts.js';
export { createDetectors, detectorsSchema, type Detector, type Detection, type DetectorsConfig } from './detectors/index.js';
export { RuleDetector, matchesFilter } from './rules.js';
export { createSink, signWebhook, slackText, formatSyslog, type AlertSink } from './sinks/index.js';
export { OutboxDispatcher } from './outbox.js';
export { createMonitorMetrics, type MonitorMetrics } from './metrics.js';
export { simulate, evaluate, runDetectors, INCIDENT_TYPES, EXPECTED_DETECTOR, type Simulation, type Incident, type EvaluationResult } from './simulate.js';
