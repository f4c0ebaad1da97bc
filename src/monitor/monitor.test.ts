// The monitor runtime end to end below the gateway: rules and detectors → stored alerts →
// outbox → a real HTTP webhook receiver that checks the HMAC signature, across a receiver outage
// and a restart of the monitor on the same store (every alert arrives exactly once). Also the
// alert lifecycle, dedup folding, the rate limit and the other sinks' formats.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { makeEvent } from '../events/schema.js';
import { openSqliteStore } from '../store/sqlite.js';
import { transitionAlert, type AlertNotification } from './alerts.js';
import { monitoringSchema } from './config.js';
import { createMonitor } from './monitor.js';
import { createSink, formatSyslog, slackText } from './sinks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-monitor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'test-webhook-secret-7c1e';
process.env.RAMPART_TEST_HOOK_SECRET = SECRET;

interface Receiver {
  url: string;
  failing: boolean;
  byAlert: Map<string, number>;
  badSignatures: number;
  requests: number;
  server: Server;
}

async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', failing: false, byAlert: new Map(), badSignatures: 0, requests: 0, server: null as unknown as Server };
  const seenDeliveries = new Set<string>();
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      if (r.failing) return void res.writeHead(503).end();
      const body = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-rampart-timestamp']);
      const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-rampart-signature'] ?? ''));
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        r.badSignatures++;
        return void res.writeHead(401).end();
      }
      const delivery = String(req.headers['x-rampart-delivery']);
      const n = JSON.parse(body) as AlertNotification;
      expect(n.deliveryId).toBe(delivery);
      // A receiver that dedups by delivery id (idempotent processing).
      if (!seenDeliveries.has(delivery)) {
        seenDeliveries.add(delivery);
        r.byAlert.set(n.alert.id, (r.byAlert.get(n.alert.id) ?? 0) + 1);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((res) => r.server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  return r;
}

const failures = (ip: string, n: number, t0: number) =>
  Array.from({ length: n }, (_, i) => makeEvent({ type: 'auth.failure', source: 'test', time: t0 + i * 100, sourceIp: ip, data: { errorCode: 'RAMPART_ERR_AUTH_INVALID' } }));

function config(url: string) {
  return monitoringSchema.parse({
    enabled: true,
    detectors: { authFailureBurst: { threshold: 1000 } },
    rules: [{ id: 'stuffing', filter: { type: 'auth.failure' }, groupBy: ['sourceIp'], threshold: 5, window: '1m', severity: 'high', message: '{{value}} failures from {{sourceIp}}' }],
    delivery: { initialBackoff: 20, maxBackoff: 100, pollInterval: 25 },
    sinks: [{ type: 'webhook', name: 'hook', url, secretEnv: 'RAMPART_TEST_HOOK_SECRET' }],
  });
}

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('monitor → webhook', () => {
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    return () => new Promise<void>((r) => rx.server.close(() => r()));
  });

  it('delivers every alert exactly once, signed, across a receiver outage and a monitor restart', async () => {
    const path = join(dir, 'wh.db');
    rx.failing = true;
    let store = openSqliteStore({ path }, silentLogger());
    let mon = createMonitor({ config: config(rx.url), store, logger: silentLogger() });
    const t0 = Date.now();
    mon.publish(...failures('203.0.113.1', 8, t0), ...failures('203.0.113.2', 6, t0), ...failures('198.51.100.3', 2, t0));
    await mon.flush();
    await until(() => rx.requests >= 3);
    const open = await store.alerts.listAlerts({ status: 'open', limit: 10 });
    expect(open.map((a) => a.title).sort()).toEqual(['5 failures from 203.0.113.1', '5 failures from 203.0.113.2']);
    expect(rx.byAlert.size).toBe(0);
    expect(await mon.metrics.registry.metrics()).toMatch(/rampart_alert_delivery_failures_total\{sink="hook"\} [1-9]/);
    await mon.close();
    await store.close();

    // Restart on the same store while the receiver is still down, then it recovers.
    store = openSqliteStore({ path }, silentLogger());
    mon = createMonitor({ config: config(rx.url), store, logger: silentLogger() });
    rx.failing = false;
    mon.publish(...failures('192.0.2.9', 5, Date.now()));
    await mon.flush();
    await until(() => rx.byAlert.size === 3);
    await new Promise((r) => setTimeout(r, 150));
    await mon.deliver();
    const all = await store.alerts.listAlerts({ limit: 10 });
    expect(all).toHaveLength(3);
    expect([...rx.byAlert.keys()].sort()).toEqual(all.map((a) => a.id).sort());
    expect([...rx.byAlert.values()]).toEqual([1, 1, 1]);
    expect(rx.badSignatures).toBe(0);
    expect(await store.alerts.dueDeliveries('hook', Date.now() + 1e9, 10)).toEqual([]);
    const text = await mon.metrics.registry.metrics();
    expect(text).toMatch(/rampart_alert_deliveries_total\{sink="hook"\} 3/);
    expect(text).toMatch(/rampart_alerts_total\{detector="rule:stuffing",severity="high"\} 1/);
    await mon.close();
    await store.close();
  });

  it('folds repeats into one alert, walks the lifecycle forward only, rate-limits notifications', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const cfg = { ...config('http://127.0.0.1:9/never'), alerts: { maxNotificationsPerMinute: 2, renotifyAfter: 3_600_000 } };
    const mon = createMonitor({ config: cfg, store, logger: silentLogger() });
    const t0 = Date.now();
    // Same IP twice (re-armed after the window) → one alert with count 2.
    mon.publish(...failures('10.0.0.1', 5, t0), ...failures('10.0.0.1', 5, t0 + 120_000));
    for (let i = 2; i < 6; i++) mon.publish(...failures(`10.0.0.${i}`, 5, t0));
    await mon.flush();
    const alerts = await store.alerts.listAlerts({ limit: 20 });
    expect(alerts).toHaveLength(5);
    expect(alerts.find((a) => a.title.endsWith('10.0.0.1'))!.count).toBe(2);
    expect(await store.alerts.dueDeliveries('hook', Date.now() + 1e9, 20)).toHaveLength(2);
    const id = alerts[0]!.id;
    expect(await transitionAlert(store.alerts, id, 'acknowledged', 'ops', 5)).toMatchObject({ status: 'acknowledged', ackedBy: 'ops', ackedAt: 5 });
    await expect(transitionAlert(store.alerts, id, 'acknowledged', 'ops')).rejects.toMatchObject({ code: 'RAMPART_ERR_MONITOR_ALERT_TRANSITION' });
    expect(await transitionAlert(store.alerts, id, 'resolved', 'lead', 6)).toMatchObject({ status: 'resolved', resolvedBy: 'lead', resolvedAt: 6 });
    await expect(transitionAlert(store.alerts, 'missing', 'resolved', 'x')).rejects.toMatchObject({ code: 'RAMPART_ERR_MONITOR_ALERT_NOT_FOUND' });
    await mon.close();
    await store.close();
  });
});

describe('other sinks', () => {
  const n: AlertNotification = {
    schema: 'rampart.alert/v1',
    deliveryId: 'a1:opened:x',
    reason: 'opened',
    alert: { id: 'a1', dedupKey: 'k', detector: 'enumeration', severity: 'high', status: 'open', title: 'Bob touched "12" models ]', details: {}, firstSeen: 0, lastSeen: 0, count: 1, ackedBy: null, ackedAt: null, resolvedBy: null, resolvedAt: null },
  };

  it('syslog: RFC 5424 line with escaped structured data, over UDP', async () => {
    const line = formatSyslog(n, 'rampart', 'host1', 42);
    expect(line).toBe('<83>1 1970-01-01T00:00:00.000Z host1 rampart 42 ALERT [rampart@32473 alertId="a1" detector="enumeration" severity="high" deliveryId="a1:opened:x" reason="opened"] \uFEFFBob touched "12" models ]');
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const got = new Promise<string>((r) => sock.once('message', (m) => r(m.toString('utf8'))));
    const sink = createSink(monitoringSchema.parse({ sinks: [{ type: 'syslog', name: 's', host: '127.0.0.1', port: (sock.address() as AddressInfo).port }] }).sinks[0]!);
    await sink.send(n, JSON.stringify(n));
    expect(await got).toMatch(/^<83>1 .* ALERT \[rampart@32473 alertId="a1"/);
    sock.close();
  });

  it('file sink appends one JSON line per notification; slack text names severity and alert id', async () => {
    const path = join(dir, 'alerts.jsonl');
    const sink = createSink({ type: 'file', name: 'f', path, minSeverity: 'low' });
    await sink.send(n, JSON.stringify(n));
    await sink.send(n, JSON.stringify(n));
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as AlertNotification).deliveryId)).toEqual(['a1:opened:x', 'a1:opened:x']);
    expect(slackText(n)).toContain('*HIGH*');
    expect(slackText(n)).toContain('`a1`');
    await expect(createSink({ type: 'file', name: 'f', path: join(dir, 'no', 'x'), minSeverity: 'low' }).send(n, '{}')).rejects.toMatchObject({ code: 'RAMPART_ERR_MONITOR_SINK_DELIVERY' });
  });
});
