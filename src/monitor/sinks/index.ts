// Builds the configured sinks (one registry of the built-in kinds).
import type { SinkConfig } from '../config.js';
import { JsonLinesFileSink, StdoutSink } from './file.js';
import { SyslogSink } from './syslog.js';
import type { AlertSink } from './types.js';
import { SlackSink, WebhookSink } from './webhook.js';

export type { AlertSink } from './types.js';
export { signWebhook, slackText, WebhookSink, SlackSink } from './webhook.js';
export { formatSyslog, SyslogSink } from './syslog.js';
export { JsonLinesFileSink, StdoutSink } from './file.js';

export function createSink(cfg: SinkConfig, env: NodeJS.ProcessEnv = process.env): AlertSink {
  switch (cfg.type) {
    case 'webhook':
      return new WebhookSink(cfg.name, cfg.url, cfg.secretEnv ? env[cfg.secretEnv] : undefined, cfg.timeout);
    case 'slack':
      return new SlackSink(cfg.name, cfg.url, cfg.timeout);
    case 'file':
      return new JsonLinesFileSink(cfg.name, cfg.path);
    case 'stdout':
      return new StdoutSink(cfg.name);
    case 'syslog':
      return new SyslogSink(cfg.name, cfg.host, cfg.port, cfg.protocol, cfg.appName);
  }
}
