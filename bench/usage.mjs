// Token usage read from a non-streamed OpenAI answer (src/gateway/usage.ts): the whole body parsed
// with JSON.parse against the tail reader that walks the top-level members backwards to `usage`.
// Two bodies: the ~1 KB answer of bench/gateway-upstream.mjs, and one shaped like OpenAI's current
// chat completions (usage with nested *_details, members after it).
// Run after `npm run build`:  node bench/usage.mjs
import { usageFromJson, usageFromJsonBody } from '../dist/gateway/usage.js';
import { chatCompletion } from './chat-answer.mjs';

const content = 'lorem ipsum '.repeat(70).slice(0, 800);
const bodies = {
  'gateway-upstream.mjs answer': chatCompletion(content),
  'OpenAI-shaped answer': {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, finish_reason: 'stop', logprobs: null }],
    usage: {
      prompt_tokens: 200,
      completion_tokens: 180,
      total_tokens: 380,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  },
};

const N = 200_000;
function perCall(f) {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) sink += f().totalTokens;
  if (sink !== N * 380) throw new Error('wrong usage');
  return ((performance.now() - t0) * 1000) / N;
}
for (const [name, obj] of Object.entries(bodies)) {
  const buf = Buffer.from(JSON.stringify(obj));
  const full = [];
  const tail = [];
  for (let r = 0; r < 5; r++) {
    full.push(perCall(() => usageFromJson(JSON.parse(buf.toString('utf8')))));
    tail.push(perCall(() => usageFromJsonBody(buf)));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${name} (${buf.length} bytes): JSON.parse ${median(full).toFixed(2)} µs, tail reader ${median(tail).toFixed(2)} µs (median of 5 × ${N})`);
}
