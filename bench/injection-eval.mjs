// Prompt-injection detector evaluation (issue #6 point 2): precision, recall and false-positive rate
// of the shipped first stage on the project's held-out set (src/detect/injection/corpus.ts: its own
// templates and seed, none shared with training), overall and per attack family / benign category,
// at the guard's flag (0.5) and block (0.85) thresholds and at the indirect-source thresholds
// (0.4 / 0.7); then the cost per KB of text (p50/p99 over the held-out texts and over documents of
// 1, 4 and 16 KiB), in CPU time of this process (the machine is shared) and in wall time.
//
// Run after `npm run build`:   node bench/injection-eval.mjs [--rounds 5] [--json]
import { parseArgs } from 'node:util';
import { detectInjection, evaluateScores, generateCorpus, shippedModel } from '../dist/detect/injection/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);

const held = generateCorpus('eval');
const model = shippedModel();
const scores = held.map((e) => detectInjection(e.text, { model }).score);

const thresholds = [0.4, 0.5, 0.7, 0.85];
const figures = Object.fromEntries(thresholds.map((t) => [t, evaluateScores(held, scores, t)]));

// Cost per KB: every held-out text scored `rounds` times; CPU time per call via process.cpuUsage
// around batches (its resolution is coarse) and wall time per call.
function perKb(texts) {
  const wall = [];
  const bytes = texts.map((t) => Buffer.byteLength(t, 'utf8') / 1024);
  for (const t of texts.slice(0, 200)) detectInjection(t, { model });
  const cpu0 = process.cpuUsage();
  let kb = 0;
  for (let r = 0; r < rounds; r++) {
    texts.forEach((t, i) => {
      const s = process.hrtime.bigint();
      detectInjection(t, { model });
      wall.push(Number(process.hrtime.bigint() - s) / 1000 / bytes[i]);
      kb += bytes[i];
    });
  }
  const c = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  const q = (p) => wall[Math.min(wall.length - 1, Math.floor(p * wall.length))];
  return { texts: texts.length, kb: Math.round(kb), cpuUsPerKb: Math.round((c.user + c.system) / kb), wallP50UsPerKb: Math.round(q(0.5)), wallP99UsPerKb: Math.round(q(0.99)) };
}

const docs = (size) => {
  const out = [];
  for (let i = 0; i < 40; i++) {
    let s = '';
    let j = i;
    while (s.length < size) s += held[j++ % held.length].text + '\n';
    out.push(s.slice(0, size));
  }
  return out;
};
const cost = {
  heldOut: perKb(held.map((e) => e.text)),
  doc1k: perKb(docs(1024)),
  doc4k: perKb(docs(4096)),
  doc16k: perKb(docs(16384)),
};

if (values.json) {
  process.stdout.write(JSON.stringify({ figures, cost }, null, 2) + '\n');
} else {
  const pct = (x) => (100 * x).toFixed(1).padStart(5) + '%';
  const attacks = held.filter((e) => e.label === 1).length;
  console.log(`held-out set: ${held.length} texts (${attacks} attacks, ${held.length - attacks} benign)`);
  console.log('\nthreshold  precision  recall    FPR');
  for (const t of thresholds) console.log(`  ${t.toFixed(2)}      ${pct(figures[t].precision)}   ${pct(figures[t].recall)}  ${pct(figures[t].fpr)}`);
  console.log('\nper family (share flagged: recall for attacks, FPR for benign)    n   @0.40   @0.50   @0.70   @0.85');
  for (const fam of Object.keys(figures[0.5].families)) {
    const label = held.find((e) => e.family === fam).label === 1 ? 'attack' : 'benign';
    console.log(`  ${(fam + ' (' + label + ')').padEnd(62)} ${String(figures[0.5].families[fam].n).padStart(4)}  ${thresholds.map((t) => pct(figures[t].families[fam].flagged)).join('  ')}`);
  }
  console.log('\ncost per KB of text (CPU µs/KB over all calls; wall p50/p99 µs/KB per call)');
  for (const [k, v] of Object.entries(cost)) console.log(`  ${k.padEnd(8)} ${String(v.texts).padStart(4)} texts  cpu ${String(v.cpuUsPerKb).padStart(5)}  wall p50 ${String(v.wallP50UsPerKb).padStart(5)}  p99 ${String(v.wallP99UsPerKb).padStart(6)}`);
}
