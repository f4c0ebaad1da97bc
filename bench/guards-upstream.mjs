// Upstreams for bench/guards.mjs, in one process of their own:
// - an OpenAI-shaped chat model answering every POST with a ~1 KB completion, as one JSON body or,
//   when the request asks for `"stream": true`, as an SSE stream of 16 chunk events;
// - the demo's KServe v2 digits classifier (src/demo/classifier), trained at start-up with its
//   fixed seed, with the demo's tensor baseline built from its training rows (squeezing calibrated).
// Writes the baseline and the held-out rows (the benign tensor traffic) into TMP and prints one
// JSON line: {"openaiPort", "kserveUrl", "baseline", "rows"}.
// Usage: node bench/guards-upstream.mjs DIST TMP
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chatCompletion } from './chat-answer.mjs';

const [DIST, TMP] = process.argv.slice(2);
const d = (p) => import(pathToFileURL(join(DIST, p)).href);
const { trainDigits, startClassifierServer } = await d('demo/classifier/server.js');
const { writeDigitsBaseline } = await d('demo/tensor-baseline.js');

// A reply that reads like one: plain prose, no personal data, no instructions.
const content = (
  'The quarterly report shows that revenue grew in every region, with the strongest gains in the ' +
  'northern markets where the new distribution centre opened in spring. Operating costs rose more ' +
  'slowly than sales, mostly because shipping contracts were renegotiated and energy prices fell. ' +
  'The team recommends keeping the hiring plan unchanged, reviewing the supplier list before the ' +
  'next budget cycle, and publishing the customer survey results in the autumn newsletter. Risks ' +
  'remain around currency movements and the delayed upgrade of the order system, which is now ' +
  'planned for the first quarter of next year. '
).repeat(2).slice(0, 800);

const completion = Buffer.from(JSON.stringify(chatCompletion(content)));

const PIECES = 16;
const step = Math.ceil(content.length / PIECES);
const chunk = (delta, finish) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
const events = [chunk({ role: 'assistant', content: '' }, null)];
for (let i = 0; i < content.length; i += step) events.push(chunk({ content: content.slice(i, i + step) }, null));
events.push(chunk({}, 'stop'));
events.push('data: [DONE]\n\n');

const openai = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const stream = Buffer.concat(parts).includes('"stream":true');
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length });
      res.end(completion);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // One write per event, as a model server emits tokens; no artificial delay.
    for (const e of events) res.write(e);
    res.end();
  });
});
await new Promise((r) => openai.listen(0, '127.0.0.1', r));

const trained = trainDigits();
const classifier = await startClassifierServer({ model: trained.model, name: 'digits', host: '127.0.0.1', port: 0 });
const baseline = await writeDigitsBaseline(TMP, trained.model, trained.train, 'digits');
// Held-out rows in data-set order: what a legitimate client sends.
const rows = [];
for (let i = 0; i < trained.test.n; i++) rows.push(Array.from(trained.test.x.subarray(i * trained.test.d, (i + 1) * trained.test.d)));
const rowsFile = join(TMP, 'digits-rows.json');
writeFileSync(rowsFile, JSON.stringify(rows));

process.stdout.write(`${JSON.stringify({ openaiPort: openai.address().port, kserveUrl: classifier.url, baseline, rows: rowsFile })}\n`);
process.on('SIGTERM', () => process.exit(0));
