// Audit record serialisation on its own: canonicalJson (the generic writer) against
// auditRecordJson (the fast path for AuditRecord) on gateway-shaped records, with and without
// guard entries, bodies omitted as the gateway's default. Reports µs per record for each pass;
// the first pass of each includes warm-up. Checks that both give the same bytes first.
//
// Run after `npm run build`:
//   node bench/audit-json.mjs [--records 100000] [--passes 5]
import { parseArgs } from 'node:util';
import { auditRecordJson, canonicalJson } from '../dist/audit/canonical-json.js';
import { gatewayAuditRecord } from './audit-record.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    passes: { type: 'string', default: '5' },
  },
});
const N = Number(values.records);
const passes = Number(values.passes);
const BODIES = new Set(['requestBody', 'responseBody']);

function record(i, withGuards) {
  const rec = gatewayAuditRecord(i);
  if (withGuards) {
    rec.guards = [
      { name: 'pii', kind: 'pii', phase: 'request', action: 'allow', shadow: false, score: 0.12, reasons: [], ms: 0.31 },
      { name: 'injection', kind: 'injection', phase: 'request', action: 'flag', shadow: true, score: 0.71, reasons: ['override'], ms: 0.84 },
    ];
  }
  return rec;
}

const writers = {
  canonicalJson: (r) => canonicalJson(r, BODIES),
  auditRecordJson: (r) => auditRecordJson(r, true),
};

const rows = [];
for (const withGuards of [false, true]) {
  const recs = Array.from({ length: N }, (_, i) => record(i, withGuards));
  for (const r of recs.slice(0, 1000)) {
    if (writers.canonicalJson(r) !== writers.auditRecordJson(r)) throw new Error(`bytes differ for ${r.id}`);
  }
  for (const [name, write] of Object.entries(writers)) {
    const us = [];
    let bytes = 0;
    for (let p = 0; p < passes; p++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) bytes += write(recs[i]).length;
      us.push(Number(process.hrtime.bigint() - t0) / 1000 / N);
    }
    rows.push({
      records: withGuards ? 'with 2 guards' : 'no guards',
      writer: name,
      'µs/record per pass': us.map((x) => x.toFixed(2)).join(' '),
      'min µs': Number(Math.min(...us).toFixed(2)),
      'max µs': Number(Math.max(...us).toFixed(2)),
      chars: bytes / passes / N,
    });
  }
}
console.table(rows);
