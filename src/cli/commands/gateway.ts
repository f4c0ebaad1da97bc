// `rampart gateway --config FILE`: runs the security gateway until SIGINT/SIGTERM, then shuts
// down gracefully (stop accepting, drain in-flight requests, flush the audit log). A second
// signal during the drain ends the process at once. See docs/gateway.md.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function register(program: Command): void {
  program
    .command('gateway')
    .description('run the security gateway in front of the configured model servers')
    .requiredOption('--config <file>', 'gateway configuration file (YAML or JSON)')
    .option('--log-level <level>', `override observability.logLevel (${LEVELS.join(', ')})`)
    .action(async (opts: { config: string; logLevel?: string }) => {
      if (opts.logLevel !== undefined && !LEVELS.includes(opts.logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
      const { loadConfig } = await import('../../config/load.js');
      const { runGateway } = await import('../../gateway/cluster.js');
      const { config, file } = loadConfig(opts.config);
      const logger = createLogger({ level: opts.logLevel ?? config.observability.logLevel, name: 'rampart-gateway' });
      // With server.workers > 1 this process becomes the primary; its workers run this same command
      // and never get past this line (they serve until the primary stops them).
      const gw = await runGateway(config, { logger, baseDir: dirname(file) });
      process.stderr.write(`rampart gateway: listening on ${gw.url} (config ${file}); Ctrl-C to stop\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      logger.info({ signal }, 'shutting down: draining in-flight requests');
      const force = (): void => {
        process.stderr.write('rampart gateway: second signal, exiting without finishing the drain\n');
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      await gw.close();
      process.off('SIGINT', force);
      process.off('SIGTERM', force);
      logger.flush();
      process.stderr.write('rampart gateway: stopped\n');
    });
}
