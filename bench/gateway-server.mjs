// Benchmark gateway process for bench/gateway.mjs: starts the compiled gateway (dist/) from a config
// file (server.workers processes) and prints its URL on stdout. Usage: node bench/gateway-server.mjs CONFIG
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/core/logger.js';
import { runGateway } from '../dist/gateway/cluster.js';

const { config } = loadConfig(process.argv[2]);
const logger = createLogger({ level: config.observability.logLevel, destination: undefined });
// With server.workers > 1 the workers run this script too and stay inside runGateway.
const gw = await runGateway(config, { logger });
process.stdout.write(`${gw.url}\n`);
process.on('SIGTERM', () => {
  gw.close().then(() => process.exit(0));
});
