// Generic webhook sink: POSTs the notification JSON, signed with HMAC-SHA256 over
// `<timestamp>.<body>` (header `X-Rampart-Signature: sha256=<hex>`, timestamp in
// `X-Rampart-Timestamp`, so a receiver can refuse replays), with the idempotency id in
// `X-Rampart-Delivery`. Any non-2xx answer or network error is a failure the outbox retries.
// The Slack-compatible sink posts `{ text }` to an incoming-webhook URL the same way.
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { severityRank, type Severity } from '../../core/types.js';
import type { AlertNotification } from '../alerts.js';
import { SinkDeliveryError } from '../errors.js';
import type { AlertSink } from './types.js';

/** The signature header value for a body sent at `timestamp` (seconds). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, sink: string): Promise<void> {
  let status: number;
  try {
    const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    status = res.statusCode;
    await res.body.dump();
  } catch (e) {
    throw new SinkDeliveryError(`sink ${sink}: ${(e as Error).message}`, { cause: e });
  }
  if (status < 200 || status >= 300) throw new SinkDeliveryError(`sink ${sink}: HTTP ${status}`);
}

export class WebhookSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly secret: string | undefined,
    private readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async send(n: AlertNotification, raw: string): Promise<void> {
    const ts = String(Math.floor(this.clock() / 1000));
    const headers: Record<string, string> = { 'x-rampart-delivery': n.deliveryId, 'x-rampart-timestamp': ts, 'user-agent': 'rampart-monitor' };
    if (this.secret) headers['x-rampart-signature'] = signWebhook(this.secret, ts, raw);
    await post(this.url, raw, headers, this.timeoutMs, this.name);
  }
}

const EMOJI: Record<Severity, string> = { info: ':information_source:', low: ':large_blue_circle:', medium: ':large_yellow_circle:', high: ':red_circle:', critical: ':rotating_light:' };

/** The Slack text of a notification (mrkdwn). */
export function slackText(n: AlertNotification): string {
  const a = n.alert;
  const sev = (severityRank(a.severity as Severity) >= 0 ? a.severity : 'info') as Severity;
  return `${EMOJI[sev]} *${a.severity.toUpperCase()}* ${a.title}\ndetector \`${a.detector}\` · alert \`${a.id}\` · ${n.reason}${a.count > 1 ? ` · seen ${a.count}×` : ''}`;
}

export class SlackSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async send(n: AlertNotification): Promise<void> {
    await post(this.url, JSON.stringify({ text: slackText(n) }), {}, this.timeoutMs, this.name);
  }
}
