// Evaluation of the built-in detectors (issue 5): a simulated week of benign traffic for many
// principals (daily and weekly rhythms, normal bursts, typos, occasional denials), fast-forwarded
// through the detectors with their default parameters, with incidents of every kind injected.
// Reports recall per incident type, false alerts per simulated day and detection delay.
//
//   npm run build && node bench/monitor-eval.mjs [--seed 42] [--days 7] [--principals 60] [--per-type 4] [--json]
import { performance } from 'node:perf_hooks';
import { createDetectors, detectorsSchema, evaluate, runDetectors, simulate, INCIDENT_TYPES } from '../dist/monitor/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seeds = args.includes('--seeds') ? String(args[args.indexOf('--seeds') + 1]).split(',').map(Number) : [opt('seed', 42)];
const days = opt('days', 7);
const principals = opt('principals', 60);
const perType = opt('per-type', 4);
// One evaluation window: the longest default window of the windowed detectors (enumeration, 15 min).
const WINDOW_MS = 15 * 60_000;

const totals = Object.fromEntries(INCIDENT_TYPES.map((t) => [t, { incidents: 0, detected: 0, delays: [] }]));
let falseAlerts = 0;
let simDays = 0;
let events = 0;
let ms = 0;
for (const seed of seeds) {
  const sim = simulate({ seed, days, principals, incidentsPerType: perType, incidentsFromDay: 3 });
  const t0 = performance.now();
  const detections = runDetectors(sim, createDetectors(detectorsSchema.parse({})));
  ms += performance.now() - t0;
  events += sim.events.length;
  const res = evaluate(sim, detections, WINDOW_MS);
  for (const t of INCIDENT_TYPES) {
    const r = res.perType[t];
    totals[t].incidents += r.incidents;
    totals[t].detected += r.detected;
    if (r.detected) totals[t].delays.push(r.maxDelayMs);
  }
  falseAlerts += res.falseAlerts;
  simDays += res.days;
}

const rows = INCIDENT_TYPES.map((t) => {
  const x = totals[t];
  return { type: t, incidents: x.incidents, detected: x.detected, recall: x.detected / x.incidents, maxDelayMin: x.delays.length ? Math.max(...x.delays) / 60_000 : null };
});
const all = rows.reduce((a, r) => ({ incidents: a.incidents + r.incidents, detected: a.detected + r.detected }), { incidents: 0, detected: 0 });
const summary = {
  seeds,
  days,
  principals,
  events,
  recall: all.detected / all.incidents,
  falseAlertsPerDay: falseAlerts / simDays,
  maxDelayMin: Math.max(...rows.map((r) => r.maxDelayMin ?? 0)),
  eventsPerSecond: Math.round(events / (ms / 1000)),
};
if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
} else {
  process.stdout.write('| incident type | incidents | detected | recall | worst delay (min) |\n|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.type} | ${r.incidents} | ${r.detected} | ${(r.recall * 100).toFixed(0)}% | ${r.maxDelayMin === null ? '-' : r.maxDelayMin.toFixed(1)} |\n`);
  process.stdout.write(
    `\nseeds ${seeds.join(',')}, ${days} days × ${principals} principals, ${events} events; overall recall ${(summary.recall * 100).toFixed(1)}%, ` +
      `false alerts ${falseAlerts} (${summary.falseAlertsPerDay.toFixed(2)}/day), worst delay ${summary.maxDelayMin.toFixed(1)} min, ` +
      `detectors ${summary.eventsPerSecond} events/s\n`,
  );
}
