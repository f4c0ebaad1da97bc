// Benchmark upstream for bench/gateway.mjs: a minimal OpenAI-shaped model server that answers
// every POST with a fixed ~1 KB chat completion (with usage). Runs in its own process and prints
// its port on stdout.
import { createServer } from 'node:http';
import { chatCompletion } from './chat-answer.mjs';

const content = 'lorem ipsum '.repeat(70).slice(0, 800);
const body = Buffer.from(JSON.stringify(chatCompletion(content)));

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
