// responseTexts on the Responses API: every text a client reads in a whole-JSON answer is listed.
import { describe, expect, it } from 'vitest';
import { GuardFailedError } from './errors.js';
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

describe('responseTexts: fields the shape does not name', () => {
  it('lists reasoning_content, audio transcripts and unknown fields of a chat answer, not ids, base64 audio or logprobs (regression: passed unscanned)', () => {
    const body = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          logprobs: { content: [{ token: 'tok', logprob: -1 }] },
          message: {
            role: 'assistant',
            content: 'answer',
            reasoning_content: 'thinking',
            audio: { id: 'audio_1', data: 'UklGRg==', transcript: 'spoken' },
            extra: { notes: [{ text: 'note', call_id: 'c1' }], 'a/b': 'slash' },
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
          },
        },
      ],
    };
    const parts = responseTexts('openai.chat.completions', body);
    expect(parts.map((p) => [p.pointer, p.source, p.text])).toEqual([
      ['/choices/0/message/content', 'assistant', 'answer'],
      ['/choices/0/message/tool_calls/0/function/arguments', 'tool-call', '{}'],
      ['/choices/0/message/reasoning_content', 'assistant', 'thinking'],
      ['/choices/0/message/audio/transcript', 'assistant', 'spoken'],
      ['/choices/0/message/extra/a~1b', 'assistant', 'slash'],
      ['/choices/0/message/extra/notes/0/text', 'assistant', 'note'],
      ['/choices/0/message/tool_calls/0/function/name', 'assistant', 'lookup'],
    ]);
    parts[2]!.set('[REDACTED]');
    expect(body.choices[0]!.message.reasoning_content).toBe('[REDACTED]');
  });

  it('lists unknown output items and annotations of a Responses answer', () => {
    const body = {
      output: [
        { type: 'mcp_call', id: 'i', name: 'n', arguments: '{}', output: 'tool output' },
        { type: 'message', content: [{ type: 'output_text', text: 'hi', annotations: [{ type: 'url_citation', title: 'a title' }] }] },
        { type: 'image_generation_call', id: 'g', result: 'iVBORw0KGgo=' },
      ],
    };
    const texts = responseTexts('openai.responses', body).map((p) => [p.pointer, p.text]);
    expect(texts).toContainEqual(['/output/0/output', 'tool output']);
    expect(texts).toContainEqual(['/output/1/content/0/annotations/0/title', 'a title']);
    expect(texts.map((t) => t[1])).not.toContain('iVBORw0KGgo=');
  });

  it('a body nested deeper than the walk goes throws (the guard fails, its onError decides)', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 80; i++) deep = { d: deep };
    expect(() => responseTexts('openai.chat.completions', { choices: [{ message: { content: 'a', extra: deep } }] })).toThrow(GuardFailedError);
    expect(responseTexts('kserve.infer', { outputs: [{ data: ['x'] }] })).toEqual([]);
  });
});
