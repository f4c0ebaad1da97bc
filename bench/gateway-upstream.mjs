// Benchmark upstream for bench/gateway.mjs: a minimal OpenAI-shaped model server that answers
// every POST with a fixed ~1 KB chat completion (with usage). Runs in its own process and prints
// its port on stdout.
import { createServer } from 'node:http';

const content = 'lorem ipsum '.repeat(70).slice(0, 800);
const body = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 200, completion_tokens: 180, total_tokens: 380 },
  }),
);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
