// The non-streamed chat completion the benchmark upstreams answer with (bench/gateway-upstream.mjs,
// bench/guards-upstream.mjs) and bench/usage.mjs reads usage from: OpenAI's shape, with usage last.
export function chatCompletion(content) {
  return {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 200, completion_tokens: 180, total_tokens: 380 },
  };
}
