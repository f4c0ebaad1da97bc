// Benchmark gateway process for bench/gateway.mjs: starts the compiled gateway (dist/) from a config
// file and prints its URL on stdout. Usage: node bench/gateway-server.mjs CONFIG
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/core/logger.js';
import { startGateway } from '../dist/gateway/index.js';

const { config } = loadConfig(process.argv[2]);
const logger = createLogger({ level: config.observability.logLevel, destination: undefined });
const gw = await startGateway(config, { logger });
process.stdout.write(`${gw.url}\n`);
process.on('SIGTERM', () => {
  gw.close().then(() => process.exit(0));
});
