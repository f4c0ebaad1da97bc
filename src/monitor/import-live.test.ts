// Regression (security review): events the gateway published on its own bus and then persisted are
// not imported again as "foreign" events. The ingestion route's `data.record` events (source
// `dataset:NAME`) were fed to the detectors and rules a second time a few seconds later, so every
// quarantined record counted twice towards per-principal thresholds.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { recordEvents } from '../events/record.js';
import { makeEvent } from '../events/schema.js';
import { openSqliteStore } from '../store/sqlite.js';
import { monitoringSchema } from './config.js';
import { ForeignEventImporter, createMonitor } from './monitor.js';

const record = (id: string, time: number) =>
  makeEvent({ type: 'data.record', source: 'dataset:feedback', id, time, principal: 'mallory', severity: 'medium', data: { dataset: 'feedback', recordId: id, requestId: 'r', status: 'quarantined', rules: ['RMP-DATA-004'], columns: ['x'] } });

describe('the gateway’s own events are not imported twice', () => {
  it('the importer skips dataset:NAME events as it skips gateway ones', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    try {
      const imp = new ForeignEventImporter(store.events, 1000);
      await recordEvents(store, record('d1', 1000), makeEvent({ type: 'key.operation', source: 'cli', id: 'k1', time: 1001, data: { operation: 'revoke', keyId: 'k' } }));
      expect((await imp.poll(5000)).map((e) => e.id)).toEqual(['k1']);
    } finally {
      await store.close();
    }
  });

  it('a rule on quarantined records fires on live events only, not on their stored copies', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const config = monitoringSchema.parse({
      enabled: true,
      events: { importInterval: '20ms', warmup: 0 },
      rules: [{ id: 'poisoner', filter: { type: 'data.record' }, groupBy: ['principal'], window: '1h', threshold: 3, severity: 'high', message: 'many quarantined records' }],
    });
    const mon = createMonitor({ config, store, logger: silentLogger() });
    try {
      await mon.ready;
      const now = Date.now();
      // Two quarantined records, published live (and persisted, as the gateway's bus does).
      mon.bus.publish(record('q1', now), record('q2', now));
      await recordEvents(store, record('q1', now), record('q2', now));
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 40));
        await mon.flush();
      }
      expect((await store.alerts.listAlerts({ limit: 10 })).map((a) => a.detector)).not.toContain('rule:poisoner');
      // The rule itself works: a third live record reaches the threshold.
      mon.bus.publish(record('q3', now));
      await mon.flush();
      await new Promise((r) => setTimeout(r, 40));
      await mon.flush();
      expect((await store.alerts.listAlerts({ limit: 10 })).map((a) => a.detector)).toContain('rule:poisoner');
    } finally {
      await mon.close();
      await store.close();
    }
  });
});
