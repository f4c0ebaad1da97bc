// The gateway set-up measured by bench/gateway.mjs and bench/gateway-cpu.mjs: one Cedar policy
// set and one config, written in one place so the two benchmarks always measure the same thing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `policy.cedar` and `rampart.json` into `tmp` and returns the config object: TLS, the
 * SQLite store, a two-policy Cedar set reading model attributes, per-principal quotas with
 * limits high enough never to refuse, and one OpenAI-protocol model on the given upstream;
 * `workers` is server.workers (gateway processes).
 */
export function writeBenchGatewayConfig({ tmp, files, upstreamUrl, logLevel, workers = 1 }) {
  writeFileSync(
    join(tmp, 'policy.cedar'),
    `@id("bench-invoke")\npermit (principal in Rampart::Role::"bench", action == Rampart::Action::"invoke", resource)\nwhen { resource.environment == "bench" };\n` +
      `@id("no-restricted")\nforbid (principal, action, resource) when { resource has sensitivity && resource.sensitivity == "restricted" };\n`,
  );
  const config = {
    server: { listen: '127.0.0.1:0', tls: { cert: files.cert, key: files.key }, bodyLimit: '1mb', workers },
    store: { type: 'sqlite', path: join(tmp, 'rampart.db') },
    policy: { files: [join(tmp, 'policy.cedar')] },
    quotas: { defaultPrincipal: { requestsPerMinute: 100000000, concurrent: 100000, tokensPerMinute: 1000000000000 } },
    observability: { logLevel },
    models: [{ name: 'chat', protocol: 'openai', upstream: { url: upstreamUrl, connections: 64 }, attributes: { environment: 'bench', sensitivity: 'internal' } }],
  };
  writeFileSync(join(tmp, 'rampart.json'), JSON.stringify(config));
  return config;
}
