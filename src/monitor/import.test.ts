// Events that other processes store (a CLI scan, a key operation) reach the monitor's detectors
// and rules: a user rule on critical scan results raises an alert once, and the gateway's own
// stored events are not fed in a second time.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { recordEvents, scanResultEvent } from '../events/record.js';
import { makeEvent } from '../events/schema.js';
import { openSqliteStore } from '../store/sqlite.js';
import { monitoringSchema } from './config.js';
import { ForeignEventImporter, createMonitor } from './monitor.js';

describe('events stored by other processes', () => {
  it('the importer returns each foreign event once and skips the gateway events', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    try {
      const imp = new ForeignEventImporter(store.events, 1000);
      const ev = (id: string, t: number, source: string) => makeEvent({ type: 'key.operation', source, id, time: t, data: { operation: 'create', keyId: id } });
      await recordEvents(store, ev('a', 1000, 'cli'), ev('b', 1000, 'cli'), ev('g', 1000, 'gateway'), ev('c', 2000, 'cli'));
      expect((await imp.poll(5000)).map((e) => e.id)).toEqual(['a', 'b', 'c']);
      expect(await imp.poll(5000)).toEqual([]);
      // A late writer with the same timestamp as the cursor is still picked up, once.
      await recordEvents(store, ev('d', 2000, 'cli'), ev('e', 3000, 'scanner'));
      expect((await imp.poll(5000)).map((e) => e.id)).toEqual(['d', 'e']);
      expect(await imp.poll(5000)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('is not starved by the gateway\'s own traffic and takes an event stored late', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    try {
      const imp = new ForeignEventImporter(store.events, 0);
      const flood = Array.from({ length: 3000 }, (_, i) => makeEvent({ type: 'gateway.request', source: 'gateway', id: `g${i}`, time: 1 + i, data: {} }));
      await recordEvents(store, ...flood, makeEvent({ type: 'key.operation', source: 'cli', id: 'k1', time: 2500, data: {} }));
      expect((await imp.poll(10_000)).map((e) => e.id)).toEqual(['k1']);
      // Written after that poll, stamped before it (a slow writer): still taken, once.
      await recordEvents(store, makeEvent({ type: 'scan.result', source: 'scanner', id: 's1', time: 9_000, data: {} }));
      expect((await imp.poll(20_000)).map((e) => e.id)).toEqual(['s1']);
      expect(await imp.poll(30_000)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('a rule on scan.result alerts on a critical scan recorded by another process', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const config = monitoringSchema.parse({
      enabled: true,
      events: { importInterval: '50ms', warmup: 0 },
      rules: [{ id: 'critical-scan', filter: { type: 'scan.result', 'data.maxSeverity': 'critical' }, threshold: 1, severity: 'high', message: 'critical scan finding' }],
    });
    const mon = createMonitor({ config, store, logger: silentLogger() });
    try {
      await mon.ready;
      const finding = (severity: 'critical' | 'low') => ({ ruleId: 'RMP-PICKLE-003', severity, file: 'evil.pkl', message: 'x' });
      await recordEvents(store, scanResultEvent('model', ['models/'], 3, [finding('low')], 0, 12));
      await recordEvents(store, scanResultEvent('model', ['models/'], 3, [finding('critical'), finding('low')], 1, 15));
      const until = Date.now() + 5000;
      let alerts = await store.alerts.listAlerts({ limit: 10 });
      while (alerts.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        await mon.flush();
        alerts = await store.alerts.listAlerts({ limit: 10 });
      }
      expect(alerts.map((a) => [a.detector, a.severity, a.title])).toEqual([['rule:critical-scan', 'high', 'critical scan finding']]);
    } finally {
      await mon.close();
      await store.close();
    }
  });
});
