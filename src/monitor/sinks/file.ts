// JSON-lines sinks for SIEM shippers: one notification per line, appended to a file (opened in
// append mode per write so log rotation by rename just works) or written to stdout.
import { appendFile } from 'node:fs/promises';
import type { AlertNotification } from '../alerts.js';
import { SinkDeliveryError } from '../errors.js';
import type { AlertSink } from './types.js';

export class JsonLinesFileSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly path: string,
  ) {}

  async send(_n: AlertNotification, raw: string): Promise<void> {
    try {
      await appendFile(this.path, `${raw}\n`, { mode: 0o600 });
    } catch (e) {
      throw new SinkDeliveryError(`sink ${this.name}: cannot append to ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
}

export class StdoutSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  async send(_n: AlertNotification, raw: string): Promise<void> {
    await new Promise<void>((resolve, reject) => this.out.write(`${raw}\n`, (e) => (e ? reject(new SinkDeliveryError(`sink ${this.name}: ${e.message}`)) : resolve())));
  }
}
