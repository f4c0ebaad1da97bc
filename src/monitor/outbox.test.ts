// The outbox when the process dies after a receiver accepted a notification but before the
// delivery was marked: the notification is sent again with the same delivery id, so a receiver
// that dedups by it processes it once. Also: backoff grows, slack and syslog over TCP deliver.
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { AlertStore } from '../store/types.js';
import type { AlertNotification } from './alerts.js';
import { OutboxDispatcher } from './outbox.js';
import { SlackSink, SyslogSink, WebhookSink } from './sinks/index.js';

const payload = (id: string): string =>
  JSON.stringify({
    schema: 'rampart.alert/v1',
    deliveryId: id,
    reason: 'opened',
    alert: { id: 'a1', dedupKey: 'k', detector: 'd', severity: 'high', status: 'open', title: 'T', details: {}, firstSeen: 0, lastSeen: 0, count: 1, ackedBy: null, ackedAt: null, resolvedBy: null, resolvedAt: null },
  } satisfies AlertNotification);

const delivery = (id: string, sink: string) => ({ id, alertId: 'a1', sink, payload: payload(id), createdAt: 1, attempts: 0, nextAttemptAt: 0, deliveredAt: null, lastError: null });

describe('outbox', () => {
  it('a crash between send and mark re-sends with the same delivery id; the receiver dedups', async () => {
    const ids: string[] = [];
    const server = createServer((req, res) => {
      ids.push(String(req.headers['x-rampart-delivery']));
      req.resume();
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    await store.alerts.enqueueDeliveries([delivery('a1:opened:hook', 'hook')]);
    // First "process": marking fails as if it died right after the receiver answered.
    const crashing: AlertStore = Object.assign(Object.create(store.alerts) as AlertStore, {
      markDelivered: async () => {
        throw new Error('killed');
      },
    });
    const d1 = new OutboxDispatcher({ store: crashing, sinks: [new WebhookSink('hook', url, 's', 2000)], logger: silentLogger(), initialBackoffMs: 0, maxBackoffMs: 0, pollIntervalMs: 1000 });
    await d1.runOnce();
    await d1.stop();
    const d2 = new OutboxDispatcher({ store: store.alerts, sinks: [new WebhookSink('hook', url, 's', 2000)], logger: silentLogger(), initialBackoffMs: 0, maxBackoffMs: 0, pollIntervalMs: 1000 });
    await d2.runOnce();
    await d2.runOnce();
    await d2.stop();
    expect(ids).toEqual(['a1:opened:hook', 'a1:opened:hook']);
    expect(new Set(ids).size).toBe(1);
    expect(await store.alerts.dueDeliveries('hook', Date.now() + 1e9, 10)).toEqual([]);
    await store.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('failed attempts back off exponentially (capped)', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    await store.alerts.enqueueDeliveries([delivery('x', 'hook')]);
    let now = 1_000_000;
    const d = new OutboxDispatcher({ store: store.alerts, sinks: [new WebhookSink('hook', 'http://127.0.0.1:9/', undefined, 500)], logger: silentLogger(), initialBackoffMs: 1000, maxBackoffMs: 8000, pollIntervalMs: 1000, now: () => now });
    const gaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      await d.runOnce();
      const [row] = await store.alerts.dueDeliveries('hook', Number.MAX_SAFE_INTEGER, 1);
      gaps.push(row!.nextAttemptAt - now);
      now = row!.nextAttemptAt;
    }
    await d.stop();
    const base = [1000, 2000, 4000, 8000, 8000, 8000];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(base[i]! * 0.8 - 1);
      expect(g).toBeLessThanOrEqual(base[i]! * 1.2 + 1);
    });
    await store.close();
  });

  it('slack posts {text}; syslog over TCP uses octet counting', async () => {
    let slackBody = '';
    const http = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        slackBody = b;
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const n = JSON.parse(payload('p')) as AlertNotification;
    await new SlackSink('slack', `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, 2000).send(n);
    expect(JSON.parse(slackBody)).toEqual({ text: expect.stringContaining('*HIGH* T') });
    await new Promise<void>((r) => http.close(() => r()));

    let got = '';
    const tcp = createTcpServer((s) => s.on('data', (c) => (got += c.toString('utf8'))));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const sink = new SyslogSink('sys', '127.0.0.1', (tcp.address() as AddressInfo).port, 'tcp', 'rampart');
    await sink.send(n);
    await sink.send(n);
    await sink.close();
    await new Promise((r) => setTimeout(r, 100));
    const m = /^(\d+) (<83>1 [^]*?)(\d+) <83>1 /.exec(got);
    expect(m).not.toBeNull();
    expect(Buffer.byteLength(m![2]!)).toBe(Number(m![1]));
    await new Promise<void>((r) => tcp.close(() => r()));
  });
});
