// PII and secret scanning cost: whole-text and streaming throughput (MB/s of CPU time) on prose
// with occasional personal data and secrets, the added latency of the `pii` guard on a chat request
// of 1 KB and 16 KB (p50/p99), and the worst case on hostile 1 MB inputs.
// Run after `npm run build`:  node bench/pii.mjs [--mb 4]
import { parseArgs } from 'node:util';
import { PiiScanner } from '../dist/detect/pii/index.js';
import { SAMPLERS } from '../dist/detect/pii/samples.js';
import { mulberry32 } from '../dist/detect/random.js';
import { piiGuardFactory, piiOptions } from '../dist/guards/pii/index.js';
import { requestTexts } from '../dist/guards/text.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '4' } } });
const MB = Number(values.mb);

const WORDS = (
  'the a of to and in is it that for on with as was at by this be from or have an they which you one were all we her she there ' +
  'would their will when who him been has more if no out do so can what up said about other into than its time only could new ' +
  'them man some these then two first may any like my now over such our even most me state after also made many did must before ' +
  'order 2024 invoice 17 support ticket server version 3.2.1 call meeting at 10:30 room 4 price 12.50 EUR total 1,299 units'
).split(' ');
const TYPES = Object.keys(SAMPLERS);

/** Prose with one sample of personal data or a secret every ~2 KB. */
function corpus(chars, seed) {
  const r = mulberry32(seed);
  let s = '';
  let next = 2000;
  while (s.length < chars) {
    s += WORDS[Math.floor(r() * WORDS.length)] + (r() < 0.08 ? '. ' : ' ');
    if (s.length > next) {
      s += SAMPLERS[TYPES[Math.floor(r() * TYPES.length)]](r) + ' ';
      next += 1000 + Math.floor(r() * 2000);
    }
  }
  return s.slice(0, chars);
}

function cpu(f) {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1e6;
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

const scanner = new PiiScanner({ minConfidence: 0.6 });
const text = corpus(MB * 1_000_000, 1);
const label = (m) => `[REDACTED:${m.type}]`;

scanner.scan(text.slice(0, 200_000)); // warm-up
const tWhole = Math.min(cpu(() => scanner.redact(text, label)), cpu(() => scanner.redact(text, label)));
const found = scanner.scan(text).matches.length;

function streamAll(delta) {
  const st = scanner.stream(label);
  let out = '';
  for (let i = 0; i < text.length; i += delta) out += st.push(text.slice(i, i + delta)).text;
  return out + st.end().text;
}
streamAll(20);
let streamed = '';
const tStream = Math.min(cpu(() => (streamed = streamAll(20))), cpu(() => streamAll(20)));
const same = streamed === scanner.redact(text, label).text;

const guard = piiGuardFactory.create('pii', piiOptions.parse({}), {});
function latency(size) {
  const samples = [];
  const texts = [];
  for (let k = 0; k < 64; k++) texts.push(corpus(size, 100 + k));
  const N = size > 4000 ? 2000 : 10000;
  for (let i = 0; i < N + 500; i++) {
    const body = { model: 'm', messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: texts[i % 64] }] };
    const input = { route: 'openai.chat.completions', protocol: 'openai', body, texts: () => requestTexts('openai.chat.completions', body) };
    const t0 = performance.now();
    const v = guard.checkRequest(input);
    if (v.apply) v.apply();
    const ms = performance.now() - t0;
    if (i >= 500) samples.push(ms);
  }
  return { p50: pct(samples, 0.5), p99: pct(samples, 0.99) };
}
const l1 = latency(1024);
const l16 = latency(16 * 1024);

const hostile = { 'digits "1 "': '1 ', 'repeated "api_key="': 'api_key=', 'repeated "-----BEGIN "': '-----BEGIN ', 'repeated "DE89 "': 'DE89 ', 'repeated "x"': 'x', 'repeated "sk-a1B"': 'sk-a1B' };
const worst = {};
for (const [name, atom] of Object.entries(hostile)) {
  const s = atom.repeat(Math.ceil(1_000_000 / atom.length));
  worst[name] = cpu(() => scanner.scan(s));
}

const mbps = (t) => (text.length / 1e6 / t).toFixed(1);
console.log(`corpus: ${(text.length / 1e6).toFixed(1)} MB of prose, ${found} findings`);
console.log(`whole-text scan + redaction: ${mbps(tWhole)} MB/s (CPU time)`);
console.log(`streaming, 20-character deltas: ${mbps(tStream)} MB/s (CPU time); output identical to whole-text: ${same}`);
console.log(`pii guard on a chat request, 1 KB: p50 ${(l1.p50 * 1000).toFixed(0)} µs, p99 ${(l1.p99 * 1000).toFixed(0)} µs`);
console.log(`pii guard on a chat request, 16 KB: p50 ${(l16.p50 * 1000).toFixed(0)} µs, p99 ${(l16.p99 * 1000).toFixed(0)} µs`);
for (const [name, t] of Object.entries(worst)) console.log(`hostile 1 MB, ${name}: ${(t * 1000).toFixed(0)} ms CPU`);
