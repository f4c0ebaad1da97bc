// responseTexts on the Responses API: every text a client reads in a whole-JSON answer is listed.
import { describe, expect, it } from 'vitest';
import { responseTexts, stripLogprobs } from './text.js';

describe('responseTexts (openai.responses)', () => {
  it('lists reasoning summaries and code interpreter code (regression: both passed unscanned)', () => {
    const body = {
      output: [
        { type: 'reasoning', id: 'r', summary: [{ type: 'summary_text', text: 'summary one' }, { type: 'summary_text', text: '' }], content: [{ type: 'reasoning_text', text: 'thinking' }] },
        { type: 'code_interpreter_call', id: 'c', code: 'print(1)' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer' }] },
      ],
    };
    const parts = responseTexts('openai.responses', body);
    expect(parts.map((p) => [p.pointer, p.source, p.text])).toEqual([
      ['/output/0/content/0/text', 'assistant', 'thinking'],
      ['/output/0/summary/0/text', 'assistant', 'summary one'],
      ['/output/1/code', 'tool-call', 'print(1)'],
      ['/output/2/content/0/text', 'assistant', 'answer'],
    ]);
    parts[1]!.set('[REDACTED]');
    expect(body.output[0]!.summary![0]!.text).toBe('[REDACTED]');
  });

  it('stripLogprobs removes token log-probabilities from chat, completions and Responses bodies', () => {
    const chat = { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, logprobs: { content: [{ token: 'sk', logprob: -1 }] } }] };
    expect(stripLogprobs(chat)).toBe(true);
    expect(chat.choices[0]!.logprobs).toBeNull();
    expect(stripLogprobs(chat)).toBe(false);
    const resp = { output: [{ type: 'message', content: [{ type: 'output_text', text: 'x', logprobs: [{ token: 'sk', logprob: -1 }] }] }] };
    expect(stripLogprobs(resp)).toBe(true);
    expect(resp.output[0]!.content[0]!.logprobs).toEqual([]);
    expect(stripLogprobs({ choices: [{ index: 0, text: 'x', logprobs: null }] })).toBe(false);
    expect(stripLogprobs('not an object')).toBe(false);
  });
});
