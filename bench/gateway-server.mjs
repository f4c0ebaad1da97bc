// Benchmark gateway process for bench/gateway.mjs, bench/gateway-cpu.mjs, bench/guards.mjs and
// bench/guards-cpu.mjs: starts the compiled gateway from a config file (server.workers processes) and
// prints its URL on stdout. Usage: node bench/gateway-server.mjs CONFIG [DIST] (DIST: the compiled
// library, default ../dist; the benchmarks' --dist).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = process.argv[3] ? resolve(process.argv[3]) : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const d = (p) => import(pathToFileURL(join(DIST, p)).href);
const { loadConfig } = await d('config/load.js');
const { createLogger } = await d('core/logger.js');
const { runGateway } = await d('gateway/cluster.js');

const { config } = loadConfig(process.argv[2]);
const logger = createLogger({ level: config.observability.logLevel, destination: undefined });
// With server.workers > 1 the workers run this script too and stay inside runGateway.
const gw = await runGateway(config, { logger });
process.stdout.write(`${gw.url}\n`);
process.on('SIGTERM', () => {
  gw.close().then(() => process.exit(0));
});
