// `rampart demo`: runs the example model servers behind the gateway over TLS (see src/demo/).
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_DEMO_DIR, DEFAULT_DEMO_PORT } from '../../demo/defaults.js';
import type { RunningDemo } from '../../demo/index.js';
import type { CheckResult, curlCommand as curlCommandFn } from '../../demo/scenarios.js';

type CurlCommand = typeof curlCommandFn;
import { ExitCode } from '../exit-code.js';

interface DemoFlags {
  port?: string;
  dir: string;
  alertWebhook?: string;
  check?: boolean;
  once?: boolean;
}

function parsePort(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`invalid --port "${v}" (0-65535; 0 picks a free port)`);
  return Number(v);
}

function banner(demo: RunningDemo, portGiven: boolean, curlCommand: CurlCommand): string {
  const i = demo.info;
  const port = Number(new URL(i.gatewayUrl).port);
  const lines = [
    '',
    'Rampart demo is running.',
    '',
    `  gateway     ${i.gatewayUrl}   (TLS; trust ${i.caCertFile})`,
    ...(!portGiven && port !== DEFAULT_DEMO_PORT ? [`              port ${DEFAULT_DEMO_PORT} was taken, so a free port is used`] : []),
    `  config      ${i.configFile}`,
    `  demo.json   ${demo.infoFile}`,
    ...(i.logFile ? [`  logs        ${i.logFile}`] : []),
    `  models      ${i.models.map((m) => `${m.name} (${m.protocol})`).join(', ')}`,
    `  classifier  softmax regression on 8x8 digits, held-out accuracy ${(i.classifier.testAccuracy * 100).toFixed(1)}% (${i.classifier.testRows} rows), trained in ${i.classifier.trainMs} ms`,
    `  weights     ${i.classifier.weightsFile} (encrypted at rest under ${i.classifier.keyRef}; decrypted in memory at start-up)`,
    ...i.identities.map((id) => `  identity    ${id.name.padEnd(6)} roles ${id.roles.join(',').padEnd(12)} key ${id.apiKey}`),
    `  alerts      ${i.alertsFile}${i.alertWebhook ? ` and ${i.alertWebhook}` : ''}`,
    '',
    'Try it (each command is complete; paste one at a time):',
    '',
    demo.curlText,
    'Then look at what the gateway recorded (in another terminal, while the demo runs):',
    '',
    `npx rampart audit tail --config '${i.configFile}'      # one audit record per request`,
    `npx rampart audit verify --config '${i.configFile}'    # check the hash chain`,
    `curl -s --cacert '${i.caCertFile}' '${i.gatewayUrl}/metrics' | grep '^rampart_'   # Prometheus metrics`,
    '',
    'Play the attacker: bob keeps probing the chat model; after 10 refusals in a minute the monitor',
    `raises an alert (see ${i.alertsFile}, or \`npx rampart alerts list --config '${i.configFile}'\`):`,
    '',
    `for n in $(seq 12); do ${probe(demo, curlCommand)} -o /dev/null -w '%{http_code} '; done; echo`,
    '',
  ];
  return lines.join('\n');
}

/** The curl command of the denied scenario (bob calling the chat model). */
function probe(demo: RunningDemo, curlCommand: CurlCommand): string {
  const sc = demo.scenarios.find((x) => x.id === 'bob-chat-denied');
  return sc ? curlCommand(sc, demo.info.gatewayUrl, demo.info.caCertFile, demo.info.identities) : 'curl';
}

function report(results: CheckResult[]): string {
  const rows = results.map((r) => `  ${r.ok ? 'PASS' : 'FAIL'}  ${String(r.status ?? '---').padEnd(4)} ${r.title}${r.problem ? `\n        ${r.problem}` : ''}`);
  const passed = results.filter((r) => r.ok).length;
  return `Self-check through the gateway:\n${rows.join('\n')}\n\n${passed}/${results.length} scenarios behaved as expected.\n`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run sample model servers (OpenAI-compatible chat stand-in, KServe v2 digits classifier) behind the gateway over TLS, with two identities and a Cedar policy')
    .option('--port <n>', `gateway port; when not given: ${DEFAULT_DEMO_PORT}, or a free port if ${DEFAULT_DEMO_PORT} is taken; 0 always picks a free port`)
    .option('--dir <folder>', 'working folder, recreated on every run', DEFAULT_DEMO_DIR)
    .option('--alert-webhook <url>', 'also send the monitoring alerts to this webhook (JSON POST), besides <dir>/alerts.jsonl')
    .option('--check', 'start, send the printed scenarios through the gateway, print the results and exit (0 all passed, 1 otherwise)')
    .option('--once', 'same as --check')
    .addHelpText(
      'after',
      `
The working folder holds the demo CA and certificates, gateway.yaml, policies/demo.cedar, the SQLite
store, rampart.log, alerts.jsonl and demo.json ({"gatewayUrl", "caCertFile", "configFile", "identities", "models"}).
Without --check the demo runs until Ctrl-C or SIGTERM. See docs/demo.md.`,
    )
    .action(async (flags: DemoFlags) => {
      const port = parsePort(flags.port);
      const { runDemo } = await import('../../demo/index.js');
      const { curlCommand } = await import('../../demo/scenarios.js');
      const demo = await runDemo({ dir: flags.dir, port, alertWebhook: flags.alertWebhook });
      if (flags.check || flags.once) {
        let results: CheckResult[];
        try {
          process.stdout.write(`${banner(demo, port !== undefined, curlCommand)}\n`);
          results = await demo.check();
        } finally {
          await demo.close();
        }
        process.stdout.write(report(results));
        if (!results.every((r) => r.ok)) throw new ExitCode(1);
        return;
      }
      process.stdout.write(`${banner(demo, port !== undefined, curlCommand)}\nPress Ctrl-C to stop.\n`);
      await new Promise<void>((resolveStop) => {
        const stop = (sig: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stdout.write(`\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping the demo...\n`);
          resolveStop();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await demo.close();
      process.stdout.write('Demo stopped.\n');
    });
}
