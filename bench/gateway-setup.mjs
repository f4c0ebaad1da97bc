// The gateway set-up measured by bench/gateway.mjs, bench/gateway-cpu.mjs and the guard benchmarks:
// one Cedar policy set, one config and the certificates, written in one place so the benchmarks
// always measure the same thing; and the measuring pieces they share (the fixed-rate load
// generator, CPU time from /proc).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Clock ticks per second of the CPU times in /proc. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * A /proc stat file (`/proc/PID/stat`, `/proc/PID/task/TID/stat`; Linux): the parent process id and
 * the CPU seconds (user + system) used so far. Throws when the process or thread is gone.
 */
export function procStat(path) {
  const t = readFileSync(path, 'utf8');
  // Fields after the command name (which may hold spaces and parentheses): state ppid ... utime(14) stime(15).
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

/**
 * Runs bench/gateway-load.mjs (open loop, fixed rate) with `spec` in its own process and returns
 * its result: achievedRate, p50/p90/p99/max in ms, errors, statusBad.
 */
export function runLoad(spec) {
  const r = spawnSync(process.execPath, [join(HERE, 'gateway-load.mjs'), JSON.stringify(spec)], { encoding: 'utf8', timeout: (spec.seconds * 10 + 60) * 1000 });
  if (r.status !== 0) throw new Error(`load generator failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

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
