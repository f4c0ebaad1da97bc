// The gateway set-up measured by bench/gateway.mjs, bench/gateway-cpu.mjs and the guard benchmarks:
// one Cedar policy set, one config and the certificates, written in one place so the benchmarks
// always measure the same thing.
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

/**
 * Writes a development CA and a server certificate for localhost / 127.0.0.1 into `tmp` (made with
 * the library's `createDevPki`, passed in from the dist/ the benchmark runs) and returns the paths.
 */
export async function writeBenchPki(tmp, createDevPki) {
  const pki = await createDevPki({ hosts: ['localhost', '127.0.0.1'] });
  const files = { ca: join(tmp, 'ca.pem'), cert: join(tmp, 'server.pem'), key: join(tmp, 'server-key.pem') };
  writeFileSync(files.ca, pki.ca.certPem);
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem, { mode: 0o600 });
  return files;
}
