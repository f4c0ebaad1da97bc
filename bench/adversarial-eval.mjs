// Adversarial-input evaluation of the `tensor` guard on the demo digits classifier (issue #6).
// Trains the demo classifier (same code, seed and split as `rampart demo`), builds the guard's
// baseline from the training rows exactly as the demo does (squeezing calibrated in process), then
// attacks the held-out test digits with FGSM and PGD (L-inf, gradients from inputGradient) and
// runs every clean and perturbed digit through the guard's own checkRequest, with callModel
// answered by the model server's v2 handler in process. Only perturbed digits that the model
// classified correctly before and wrongly after are counted (a failed attack is not an attack).
//
// Two attackers: "box" keeps pixels in the valid range 0..16 (the usual threat model); "in-range"
// also keeps every pixel inside the baseline's per-feature [min, max], i.e. it knows the range
// check and avoids it. Every check is set to `flag` here so each detector's rate can be read off
// the reasons; in the gateway the range check blocks by default, which changes nothing in the rates.
//
// Run after `npm run build`:
//   node bench/adversarial-eval.mjs [--eps 1,2,4] [--pgd-steps 20] [--quantiles 0.99,0.995] [--json]
import { parseArgs } from 'node:util';
import { silentLogger } from '../dist/core/logger.js';
import { trainDigits } from '../dist/demo/classifier/server.js';
import { argmax, inputGradient, predictProba, seededRandom } from '../dist/demo/classifier/model.js';
import { describeClassifier, infer } from '../dist/demo/classifier/v2-protocol.js';
import { digitsBaseline } from '../dist/demo/tensor-baseline.js';
import { calibrateSqueeze } from '../dist/guards/tensor/baseline.js';
import { TensorGuard, tensorOptionsSchema } from '../dist/guards/tensor/index.js';

const { values } = parseArgs({
  options: {
    eps: { type: 'string', default: '1,2,4' },
    'pgd-steps': { type: 'string', default: '20' },
    quantiles: { type: 'string', default: '0.99,0.995' },
    json: { type: 'boolean', default: false },
  },
});
const EPS = values.eps.split(',').map(Number);
const PGD_STEPS = Number(values['pgd-steps']);
const QUANTILES = values.quantiles.split(',').map(Number);

const t0 = performance.now();
const trained = trainDigits();
const { model, train, test } = trained;
const d = train.d;
const desc = describeClassifier('digits', model);
const baseline = await digitsBaseline(model, train, 'digits');
// The image-aware variant: the same baseline with a 2x2 median squeezer added (8x8 images).
const imageBase = { ...baseline, imageShape: [8, 8] };
const imageCal = await calibrateSqueeze(
  imageBase,
  Array.from({ length: train.n }, (_, i) => train.x.subarray(i * d, (i + 1) * d)),
  async (body) => ({ status: 200, body: infer(model, desc, body) }),
  { squeezers: [{ kind: 'bit-depth', bits: 2 }, { kind: 'median', size: 2 }] },
);
if (!imageCal.ok) throw new Error(imageCal.reason);

const row = (ds, i) => ds.x.subarray(i * d, (i + 1) * d);
const { min, max } = baseline.range;

function fgsm(x, y, eps, lo, hi) {
  const g = inputGradient(model, x, y).gradient;
  const a = new Float64Array(d);
  for (let j = 0; j < d; j++) a[j] = Math.min(hi[j], Math.max(lo[j], x[j] + eps * Math.sign(g[j])));
  return a;
}

/** PGD (Madry et al. 2018): random start in the eps-ball, PGD_STEPS signed steps of eps/4, projected. */
function pgd(x, y, eps, lo, hi, rand) {
  const a = new Float64Array(d);
  const alpha = eps / 4;
  for (let j = 0; j < d; j++) a[j] = Math.min(hi[j], Math.max(lo[j], x[j] + eps * (2 * rand() - 1)));
  for (let s = 0; s < PGD_STEPS; s++) {
    const g = inputGradient(model, a, y).gradient;
    for (let j = 0; j < d; j++) {
      const v = Math.min(x[j] + eps, Math.max(x[j] - eps, a[j] + alpha * Math.sign(g[j])));
      a[j] = Math.min(hi[j], Math.max(lo[j], v));
    }
  }
  return a;
}

// Attack sets, built once.
const clean = Array.from({ length: test.n }, (_, i) => row(test, i));
const sets = [];
const rand = seededRandom(20261128);
const box = { lo: new Array(d).fill(0), hi: new Array(d).fill(16) };
const inRange = { lo: min, hi: max };
for (const [mode, b] of [['box', box], ['in-range', inRange]]) {
  for (const eps of EPS) {
    for (const attack of ['FGSM', 'PGD']) {
      const advs = [];
      let correct = 0;
      for (let i = 0; i < test.n; i++) {
        const x = row(test, i);
        const y = test.y[i];
        if (argmax(predictProba(model, x)) !== y) continue;
        correct++;
        const a = attack === 'FGSM' ? fgsm(x, y, eps, b.lo, b.hi) : pgd(x, y, eps, b.lo, b.hi, rand);
        // FP32 on the wire, as the client would send it.
        const a32 = Float64Array.from(a, Math.fround);
        if (argmax(predictProba(model, a32)) !== y) advs.push(a32);
      }
      sets.push({ mode, eps, attack, attempted: correct, inputs: advs });
    }
  }
}

function guardFor(q, base) {
  const options = tensorOptionsSchema.parse({
    metadata: { fetch: false },
    actions: { shape: 'flag', dtype: 'flag', nonfinite: 'flag', range: 'flag', ood: 'flag', squeeze: 'flag' },
    ood: { quantile: q },
    squeeze: { quantile: q },
  });
  return new TensorGuard('tensor', options, [base], silentLogger());
}

const modelCfg = { name: 'digits', protocol: 'kserve-v2', upstream: { url: 'http://127.0.0.1:1' } };
async function detect(guard, x) {
  const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, d], data: Array.from(x) }] };
  const v = await guard.checkRequest({
    requestId: 'bench',
    route: 'kserve.infer',
    protocol: 'kserve',
    model: modelCfg,
    principal: { id: 'bench', roles: [] },
    sourceIp: '127.0.0.1',
    now: Date.now(),
    signal: new AbortController().signal,
    body,
    texts: () => [],
    callModel: async (b) => ({ status: 200, body: infer(model, desc, b) }),
  });
  const codes = new Set(v.reasons.map((r) => r.code));
  return { range: codes.has('tensor.range'), ood: codes.has('tensor.ood'), squeeze: codes.has('tensor.squeeze'), any: v.action !== 'allow' };
}

async function rates(guard, inputs) {
  const c = { range: 0, ood: 0, squeeze: 0, any: 0 };
  for (const x of inputs) {
    const r = await detect(guard, x);
    for (const k of Object.keys(c)) if (r[k]) c[k]++;
  }
  const n = inputs.length || 1;
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v / n]));
}

const results = [];
for (const [variant, base] of [['bit-depth', baseline], ['bit-depth+median', imageCal.baseline]]) {
  for (const q of QUANTILES) {
    const guard = guardFor(q, base);
    const fp = await rates(guard, clean);
    const rows = [];
    for (const s of sets) rows.push({ mode: s.mode, attack: s.attack, eps: s.eps, attempted: s.attempted, successful: s.inputs.length, ...(await rates(guard, s.inputs)) });
    const p = guard.baselineOf('digits');
    results.push({ squeezers: variant, quantile: q, thresholds: { mahalanobis: p.mahaThreshold, robustZ: p.rzThreshold, squeeze: p.squeeze?.threshold }, cleanRows: clean.length, falsePositive: fp, attacks: rows });
  }
}

const cpuS = process.cpuUsage().user / 1e6;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ testAccuracy: trained.testAccuracy, trainRows: train.n, testRows: test.n, pgdSteps: PGD_STEPS, results }, null, 2)}\n`);
} else {
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  console.log(`digits classifier: ${train.n} training rows, ${test.n} held-out test rows, test accuracy ${pct(trained.testAccuracy)}`);
  console.log(`PGD: ${PGD_STEPS} steps of eps/4 from a random start; epsilons in pixel units of 0..16 (1 = 1/16 of the range)`);
  for (const r of results) {
    console.log(`\nsqueezers ${r.squeezers}, threshold quantile ${r.quantile} (Mahalanobis ${r.thresholds.mahalanobis.toFixed(2)}, robust z ${r.thresholds.robustZ.toFixed(2)}, squeeze L1 ${r.thresholds.squeeze?.toFixed(3)})`);
    console.log('| inputs | eps | successful / attacked | range | OOD | squeezing | combined |');
    console.log('|---|---|---|---|---|---|---|');
    const f = r.falsePositive;
    console.log(`| clean held-out (false positives) | - | ${r.cleanRows} rows | ${pct(f.range)} | ${pct(f.ood)} | ${pct(f.squeeze)} | ${pct(f.any)} |`);
    for (const a of r.attacks) console.log(`| ${a.attack} ${a.mode} | ${a.eps} | ${a.successful} / ${a.attempted} | ${pct(a.range)} | ${pct(a.ood)} | ${pct(a.squeeze)} | ${pct(a.any)} |`);
  }
  console.log(`\nCPU ${cpuS.toFixed(1)} s user, ${((performance.now() - t0) / 1000).toFixed(1)} s wall (machine shared with other jobs)`);
}
