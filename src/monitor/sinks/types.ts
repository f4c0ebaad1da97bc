// What a sink is: one `send` of a notification payload. It throws on failure (the outbox retries
// with backoff); it must be safe to call again with the same payload (receivers dedup by the
// delivery id the payload and the webhook headers carry).
import type { AlertNotification } from '../alerts.js';

export interface AlertSink {
  readonly name: string;
  send(n: AlertNotification, raw: string): Promise<void>;
  close?(): Promise<void>;
}
