// Syslog sink (RFC 5424): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` over UDP (one
// datagram per message, RFC 5426) or TCP with octet-counting framing (RFC 6587 §3.4.1).
// Facility is security/authorization (10 — "security/authorization messages", RFC 5424 §6.2.1).
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { connect, type Socket } from 'node:net';
import type { Severity } from '../../core/types.js';
import type { AlertNotification } from '../alerts.js';
import { SinkDeliveryError } from '../errors.js';
import type { AlertSink } from './types.js';

const FACILITY = 10;
/** RFC 5424 severities: 2 critical, 3 error, 4 warning, 5 notice, 6 informational. */
const LEVEL: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 §6.3.3). */
function sdEscape(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Header names are printable US-ASCII without spaces, at most their field length. */
function token(v: string, max: number): string {
  const t = v.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return t || '-';
}

export function formatSyslog(n: AlertNotification, appName: string, host = hostname(), pid = process.pid): string {
  const a = n.alert;
  const pri = FACILITY * 8 + (LEVEL[a.severity as Severity] ?? 6);
  const ts = new Date(a.lastSeen).toISOString();
  const sd = `[rampart@32473 alertId="${sdEscape(a.id)}" detector="${sdEscape(a.detector)}" severity="${sdEscape(a.severity)}" deliveryId="${sdEscape(n.deliveryId)}" reason="${n.reason}"]`;
  // The BOM marks the MSG as UTF-8 (RFC 5424 §6.4).
  return `<${pri}>1 ${ts} ${token(host, 255)} ${token(appName, 48)} ${token(String(pid), 128)} ALERT ${sd} \uFEFF${a.title}`;
}

export class SyslogSink implements AlertSink {
  private tcp: Socket | null = null;

  constructor(
    readonly name: string,
    private readonly host: string,
    private readonly port: number,
    private readonly protocol: 'udp' | 'tcp',
    private readonly appName: string,
  ) {}

  async send(n: AlertNotification): Promise<void> {
    const msg = Buffer.from(formatSyslog(n, this.appName), 'utf8');
    try {
      if (this.protocol === 'udp') {
        const sock = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
        try {
          await new Promise<void>((resolve, reject) => sock.send(msg, this.port, this.host, (e) => (e ? reject(e) : resolve())));
        } finally {
          sock.close();
        }
        return;
      }
      const s = await this.connection();
      await new Promise<void>((resolve, reject) => s.write(Buffer.concat([Buffer.from(`${msg.length} `), msg]), (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      this.tcp?.destroy();
      this.tcp = null;
      throw new SinkDeliveryError(`sink ${this.name}: ${(e as Error).message}`, { cause: e });
    }
  }

  private connection(): Promise<Socket> {
    if (this.tcp && !this.tcp.destroyed) return Promise.resolve(this.tcp);
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port }, () => {
        s.off('error', reject);
        s.on('error', () => {
          this.tcp = null;
        });
        this.tcp = s;
        resolve(s);
      });
      s.once('error', reject);
      s.setTimeout(10_000, () => s.destroy(new Error('syslog connection timed out')));
    });
  }

  async close(): Promise<void> {
    this.tcp?.end();
    this.tcp = null;
  }
}
