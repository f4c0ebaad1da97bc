// `rampart demo`: starts the two example model servers (an OpenAI-compatible chat stand-in and a
// KServe v2 digits classifier trained at start-up) on loopback over HTTPS with a demo CA, and the
// gateway in front of them over TLS with two API-key identities and a Cedar policy. Everything it
// writes lives in one working folder (default `.rampart-demo/` in the current directory):
//
//   tls/            CA, server certificate and key (made fresh on every run)
//   keys/           local keyring (one KEK) and its passphrase
//   models/         the classifier's weights, encrypted; the model server decrypts them in memory
//   policies/       demo.cedar, copied from examples/demo/
//   gateway.yaml    the gateway config (usable with `rampart gateway --config`)
//   rampart.db      the embedded SQLite store: API keys, audit chain, quota counters
//   rampart.log     JSON logs of the gateway and the model servers
//   alerts.jsonl    alerts raised by the monitoring detectors (also sent to --alert-webhook)
//   demo.json       what a client needs: URL, CA file, identities with keys, models
//
// The folder is recreated on every run (new CA, new keys); a folder that does not look like a
// demo folder is never wiped.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { writeFileReplacing } from '../core/replace-file.js';
import { createLogger, silentLogger, type Logger } from '../core/logger.js';
import { createApiKey } from '../auth/index.js';
import { startGateway } from '../gateway/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { writeDevPki } from '../tls/write-pki.js';
import { examplesDir } from './classifier/digits.js';
import { predictLabel } from './classifier/model.js';
import { startClassifierServer, trainDigits } from './classifier/server.js';
import { loadSealedWeights, sealWeights } from './encrypted-weights.js';
import { DemoPortInUseError, DemoStartFailedError } from './errors.js';
import { demoGatewayYaml } from './gateway-config.js';
import type { RunningServer } from './http.js';
import { startOpenAiStandin } from './openai-standin/server.js';
import { writeDigitsBaseline } from './tensor-baseline.js';
import { curlCommand, demoScenarios, runScenarios, type CheckResult, type DemoIdentity, type Scenario } from './scenarios.js';

import { DEFAULT_DEMO_DIR, DEFAULT_DEMO_PORT } from './defaults.js';

export { DEFAULT_DEMO_DIR, DEFAULT_DEMO_PORT };
const CHAT_MODEL = 'demo-chat';
const CLASSIFIER_MODEL = 'digits';
/** File whose presence marks a folder as made by the demo (so it may be wiped and rebuilt). */
const MARKER = '.rampart-demo';

export interface DemoOptions {
  /** Working folder (default `.rampart-demo` in the current directory). */
  dir?: string;
  /** Gateway port. Undefined: 8443, or a free port if 8443 is taken. 0: a free port. */
  port?: number;
  /** Alerts are sent to this URL (a webhook sink) besides `<dir>/alerts.jsonl`. */
  alertWebhook?: string;
  /** Logger for the demo's components; default: JSON lines to `<dir>/rampart.log`. */
  logger?: Logger;
  /** Pause between streamed chunks of the chat stand-in (default 15 ms, visible in a terminal). */
  chunkDelayMs?: number;
}

/** The content of `demo.json`. The first five keys are a stable interface; do not rename them. */
export interface DemoInfo {
  gatewayUrl: string;
  caCertFile: string;
  configFile: string;
  identities: DemoIdentity[];
  models: { name: string; protocol: string }[];
  /** Where the example model servers listen (behind the gateway; clients should not call them). */
  upstreams: { name: string; url: string }[];
  classifier: { testAccuracy: number; trainMs: number; testRows: number; weightsFile: string; keyring: string; keyRef: string; passphraseFile: string };
  logFile: string | null;
  /** Alerts raised by the monitoring detectors, one JSON object per line. */
  alertsFile: string;
  alertWebhook: string | null;
  pid: number;
}

export interface RunningDemo {
  info: DemoInfo;
  /** Absolute path of demo.json. */
  infoFile: string;
  scenarios: Scenario[];
  /** The curl commands, with a comment line above each. */
  curlText: string;
  /** Sends every scenario through the gateway and reports the outcomes. */
  check(): Promise<CheckResult[]>;
  /** Stops the gateway and the model servers; idempotent. */
  close(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Empties `dir` for a fresh run, refusing folders the demo did not make or a demo still running. */
function prepareDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new UsageError(`${dir} exists and was not made by \`rampart demo\`; choose another folder with --dir`);
    }
    const infoFile = join(dir, 'demo.json');
    if (existsSync(infoFile)) {
      try {
        const prev = JSON.parse(readFileSync(infoFile, 'utf8')) as { pid?: unknown };
        if (typeof prev.pid === 'number' && prev.pid !== process.pid && pidAlive(prev.pid)) {
          throw new UsageError(`another demo (process ${prev.pid}) is using ${dir}; stop it first or use --dir`);
        }
      } catch (e) {
        if (e instanceof UsageError) throw e;
      }
    }
    for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), 'This folder is made by `rampart demo` and recreated on each run.\n');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** The port the gateway will use (see DemoOptions.port). */
async function choosePort(requested: number | undefined, log: Logger): Promise<number> {
  if (requested === 0) return freePort();
  const port = requested ?? DEFAULT_DEMO_PORT;
  if (await portFree(port)) return port;
  if (requested !== undefined) throw new DemoPortInUseError(`port ${port} is in use; pass another --port, or --port 0 for a free one`);
  const p = await freePort();
  log.warn({ port: DEFAULT_DEMO_PORT, instead: p }, 'default demo port in use; using a free port');
  return p;
}

async function step<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError || e instanceof DemoPortInUseError) throw e;
    const code = (e as { code?: unknown }).code;
    throw new DemoStartFailedError(`${what}: ${(e as Error).message}${typeof code === 'string' && code.startsWith('RAMPART_ERR_') ? ` [${code}]` : ''}`, { cause: e });
  }
}

/**
 * Starts the demo and resolves once the gateway answers. The caller keeps it running and calls
 * `close()` on exit (the CLI does so on SIGINT/SIGTERM).
 *
 * @example
 * const demo = await runDemo({ dir: tmp, port: 0 });
 * const results = await demo.check();
 * await demo.close();
 */
export async function runDemo(opts: DemoOptions = {}): Promise<RunningDemo> {
  const dir = resolve(opts.dir ?? DEFAULT_DEMO_DIR);
  if (opts.alertWebhook !== undefined) {
    let u: URL | null = null;
    try {
      u = new URL(opts.alertWebhook);
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) throw new UsageError(`--alert-webhook must be an http(s) URL`);
  }
  prepareDir(dir);

  const logFile = opts.logger ? null : join(dir, 'rampart.log');
  const fileDest = logFile ? pino.destination({ dest: logFile, sync: false, mkdir: true }) : null;
  let logReady = false;
  fileDest?.once('ready', () => {
    logReady = true;
  });
  const logger = opts.logger ?? (fileDest ? createLogger({ destination: fileDest, level: process.env.RAMPART_LOG_LEVEL ?? 'info' }) : silentLogger());
  const log = logger.child({ component: 'demo' });

  const closers: (() => Promise<void>)[] = [];
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn({ err }, 'demo shutdown step failed'));
      if (fileDest) {
        await new Promise<void>((r) => {
          // Ending a destination that has not opened its file yet throws; wait for it first.
          const end = () => {
            fileDest.once('close', () => r());
            fileDest.end();
          };
          if (logReady) end();
          else fileDest.once('ready', end);
        });
      }
    })();
    return closed;
  };

  try {
    const port = await choosePort(opts.port, log);
    const pki = await step('creating the demo certificates', () =>
      writeDevPki({ dir: join(dir, 'tls'), hosts: ['localhost', '127.0.0.1', '::1'], force: true }),
    );
    const tls = { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) };
    const caPem = readFileSync(pki.caCert, 'utf8');

    const trained = await step('training the digits classifier', () => trainDigits());
    log.info({ testAccuracy: trained.testAccuracy, trainMs: Math.round(trained.trainMs), testRows: trained.test.n }, 'digits classifier trained');
    // Encryption at rest: the model server loads its weights by decrypting the sealed file.
    const weights = await step('encrypting the classifier weights', async () => {
      const { sealed, providers } = await sealWeights(dir, trained.model, CLASSIFIER_MODEL);
      try {
        return { sealed, model: await loadSealedWeights(sealed, providers) };
      } finally {
        await providers.close();
      }
    });
    const servers: RunningServer[] = [];
    closers.push(async () => {
      await Promise.all(servers.map((s) => s.close()));
    });
    const classifier = await step('starting the KServe v2 classifier', () =>
      startClassifierServer({ model: weights.model, name: CLASSIFIER_MODEL, tls, logger: logger.child({ component: 'kserve-classifier' }) }),
    );
    servers.push(classifier);
    const chat = await step('starting the OpenAI-compatible stand-in', () =>
      startOpenAiStandin({ models: [CHAT_MODEL], tls, chunkDelayMs: opts.chunkDelayMs, logger: logger.child({ component: 'openai-standin' }) }),
    );
    servers.push(chat);

    await step('building the classifier\'s tensor baseline', () => writeDigitsBaseline(dir, trained.model, trained.train, CLASSIFIER_MODEL));
    mkdirSync(join(dir, 'policies'), { recursive: true });
    copyFileSync(join(examplesDir(), 'demo', 'demo.cedar'), join(dir, 'policies', 'demo.cedar'));
    const configFile = join(dir, 'gateway.yaml');
    writeFileReplacing(
      configFile,
      demoGatewayYaml({
        port,
        chatUpstreamUrl: chat.url,
        classifierUpstreamUrl: classifier.url,
        chatModel: CHAT_MODEL,
        classifierModel: CLASSIFIER_MODEL,
        alertsFile: join(dir, 'alerts.jsonl'),
        alertWebhook: opts.alertWebhook,
      }),
    );
    const { config } = loadConfig(configFile);

    const store: Store = await step('opening the store', () => openStore(config.store, logger));
    closers.push(() => store.close());
    const identities: DemoIdentity[] = [];
    for (const [name, roles] of [
      ['alice', ['ml-engineer']],
      ['bob', ['analyst']],
    ] as const) {
      const created = await step(`creating the API key of ${name}`, () =>
        createApiKey(store.keys, { principal: name, roles: [...roles], kind: 'user', description: 'rampart demo identity' }),
      );
      identities.push({ name, roles: [...roles], apiKey: created.key });
    }

    const gateway = await step('starting the gateway', () => startGateway(config, { logger, store, baseDir: dirname(resolve(configFile)) }));
    closers.push(() => gateway.close());
    const gatewayUrl = `https://127.0.0.1:${gateway.port}`;

    const info: DemoInfo = {
      gatewayUrl,
      caCertFile: pki.caCert,
      configFile,
      identities,
      models: config.models.map((m) => ({ name: m.name, protocol: m.protocol })),
      upstreams: [
        { name: CHAT_MODEL, url: chat.url },
        { name: CLASSIFIER_MODEL, url: classifier.url },
      ],
      classifier: {
        testAccuracy: trained.testAccuracy,
        trainMs: Math.round(trained.trainMs),
        testRows: trained.test.n,
        weightsFile: weights.sealed.file,
        keyring: weights.sealed.keyringPath,
        keyRef: weights.sealed.keyRef,
        passphraseFile: weights.sealed.passphraseFile,
      },
      logFile,
      alertsFile: join(dir, 'alerts.jsonl'),
      alertWebhook: opts.alertWebhook ?? null,
      pid: process.pid,
    };
    const infoFile = join(dir, 'demo.json');
    // Holds the demo identities' API keys: a regular file, 0600, or nothing.
    writeFileReplacing(infoFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600, regularOnly: true });

    const digits = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => ({ pixels: Array.from(trained.test.x.subarray(r * 64, r * 64 + 64)), label: trained.test.y[r]! }));
    // Only rows the model gets right, so the check tests the plumbing and not the model's 3% errors.
    const shown = digits.filter((d) => d.label === predictLabel(trained.model, d.pixels)).slice(0, 3);
    const scenarios = demoScenarios({ chatModel: CHAT_MODEL, classifierModel: CLASSIFIER_MODEL, digits: shown });
    const curlText = scenarios.map((sc, i) => `# ${i + 1}. ${sc.title}\n${curlCommand(sc, gatewayUrl, pki.caCert, identities)}\n`).join('\n');
    log.info({ gatewayUrl, dir }, 'demo ready');
    return {
      info,
      infoFile,
      scenarios,
      curlText,
      check: () => runScenarios(scenarios, gatewayUrl, caPem, identities),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
