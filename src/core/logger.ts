// The project's logger: pino, JSON lines, with redaction of anything that may hold a secret.
// Library code never logs through console; it receives a Logger and makes child loggers.
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/** Paths redacted wherever they appear in a log object. */
export const REDACT_PATHS = [
  'authorization',
  'apiKey',
  'password',
  'passphrase',
  'secret',
  'token',
  'key',
  'privateKey',
  '*.authorization',
  '*.apiKey',
  '*.password',
  '*.passphrase',
  '*.secret',
  '*.token',
  '*.privateKey',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? process.env.RAMPART_LOG_LEVEL ?? 'info',
    name: options.name ?? 'rampart',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { name: options.name ?? 'rampart' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything (for tests and library callers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
