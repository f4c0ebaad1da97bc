// Audit trail throughput: records appended per second through createAuditLog (queue, batching,
// hash chain, store writes) on the SQLite store, and optionally on PostgreSQL; the cost of one
// record() call on the request path; and records verified per second by verifyAudit.
//
// Run after `npm run build`:
//   node bench/audit.mjs [--records 100000] [--flush-every 256] [--pg postgres://postgres@127.0.0.1:5432/test]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAuditLog, verifyAudit } from '../dist/audit/index.js';
import { silentLogger } from '../dist/core/logger.js';
import { openStore } from '../dist/store/index.js';
import { gatewayAuditRecord as record } from './audit-record.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'flush-every': { type: 'string', default: '256' },
    pg: { type: 'string' },
  },
});
const N = Number(values.records);
const flushEvery = Number(values['flush-every']);


async function run(label, cfg, opts) {
  const store = await openStore(cfg, silentLogger(), opts);
  const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 1000, flushEvery }, silentLogger());
  // Offered in bursts of 1,000 with an event-loop turn between them, as request handlers would.
  let recordNs = 0n;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const a = process.hrtime.bigint();
    log.record(record(i));
    recordNs += process.hrtime.bigint() - a;
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await log.close();
  const appendS = Number(process.hrtime.bigint() - t0) / 1e9;
  const v0 = process.hrtime.bigint();
  const v = await verifyAudit(store.audit);
  const verifyS = Number(process.hrtime.bigint() - v0) / 1e9;
  if (!v.ok || v.checked !== N) throw new Error(`verify failed: ${JSON.stringify(v)}`);
  await store.close();
  return {
    store: label,
    records: N,
    'appended/s': Math.round(N / appendS),
    'record() µs mean': Number((Number(recordNs) / N / 1000).toFixed(2)),
    'verified/s': Math.round(N / verifyS),
  };
}

const rows = [];
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-audit-'));
try {
  rows.push(await run('sqlite (file, WAL)', { type: 'sqlite', path: join(dir, 'bench.db') }));
  if (values.pg) {
    const schema = `rampart_bench_${process.pid}`;
    try {
      rows.push(await run('postgres', { type: 'postgres', url: values.pg }, { pgSchema: schema }));
    } finally {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: values.pg });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.table(rows);
