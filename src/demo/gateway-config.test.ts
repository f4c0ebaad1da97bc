import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { demoGatewayYaml } from './gateway-config.js';

describe('demo gateway config', () => {
  it('is valid against the gateway schema, with TLS, pinned upstream CAs and paths in the demo folder', () => {
    const text = demoGatewayYaml({
      port: 8443,
      chatUpstreamUrl: 'https://127.0.0.1:40001',
      classifierUpstreamUrl: 'https://127.0.0.1:40002',
      chatModel: 'demo-chat',
      classifierModel: 'digits',
      alertsFile: '/demo/alerts.jsonl',
      alertWebhook: 'https://hooks.example/alerts',
    });
    const cfg = parseConfig(parse(text), '/demo');
    expect(cfg.server.listen).toBe('127.0.0.1:8443');
    expect(cfg.server.tls?.cert).toBe('/demo/tls/server.pem');
    expect(cfg.server.allowPlainHttp).toBe(false);
    expect(cfg.models.map((m) => [m.name, m.protocol, m.upstream.ca])).toEqual([
      ['demo-chat', 'openai', '/demo/tls/ca.pem'],
      ['digits', 'kserve-v2', '/demo/tls/ca.pem'],
    ]);
    expect(cfg.policy.files).toEqual(['/demo/policies/demo.cedar']);
    expect(cfg.store).toEqual({ type: 'sqlite', path: '/demo/rampart.db' });
    expect(cfg.monitoring.enabled).toBe(true);
    expect(cfg.monitoring.sinks.map((k) => [k.name, k.type])).toEqual([
      ['demo-file', 'file'],
      ['demo-webhook', 'webhook'],
    ]);
  });
});
