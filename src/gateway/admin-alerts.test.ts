// The admin alerts API handler on hostile input: seeded random paths, methods and queries never
// throw and always answer with a 2xx/4xx status and a JSON body.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { mulberry32 } from '../detect/random.js';
import { openSqliteStore } from '../store/sqlite.js';
import { handleAdminAlerts } from './admin-alerts.js';

describe('handleAdminAlerts fuzz', () => {
  it('never throws on random paths, methods and queries', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    await store.alerts.insertAlert({
      id: 'a1', dedupKey: 'k', detector: 'd', severity: 'high', status: 'open', title: 't', details: 'not json',
      firstSeen: 1, lastSeen: 1, count: 1, ackedBy: null, ackedAt: null, resolvedBy: null, resolvedAt: null,
    });
    const r = mulberry32(5);
    const parts = ['a1', 'ack', 'resolve', '%', '%zz', '..', '', 'x'.repeat(300), '%00', 'a1%2Fack', '\u00e9'];
    const queries = ['', '?status=open', '?status=', '?limit=0', '?limit=1e9', '?limit=abc', '?status=resolved&limit=2', '?%%%', '?limit=-1'];
    for (let i = 0; i < 400; i++) {
      const n = Math.floor(r() * 4);
      const path = `/admin/alerts${Array.from({ length: n }, () => `/${parts[Math.floor(r() * parts.length)]}`).join('')}`;
      const method = ['GET', 'POST', 'PUT', 'DELETE'][Math.floor(r() * 4)]!;
      const res = await handleAdminAlerts(store.alerts, method, path, queries[Math.floor(r() * queries.length)]!, 'fuzzer');
      expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
      expect(typeof JSON.stringify(res.body)).toBe('string');
    }
    await store.close();
  });
});
