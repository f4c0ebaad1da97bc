import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('gateway metrics label children', () => {
  it('returns one child per label set and counts each set on its own', async () => {
    const m = createMetrics(false);
    const a = m.requestsFor('openai.chat.completions', 'chat', 'allow', 200);
    expect(m.requestsFor('openai.chat.completions', 'chat', 'allow', 200)).toBe(a);
    expect(m.requestsFor('openai.chat.completions', 'chat', 'allow', 429)).not.toBe(a);
    expect(m.requestsFor('openai.chat.completions', 'chat', 'deny', 200)).not.toBe(a);
    expect(m.requestsFor('openai.completions', 'chat', 'allow', 200)).not.toBe(a);
    a.inc();
    a.inc();
    m.requestsFor('openai.chat.completions', 'chat', 'allow', 429).inc();
    m.durationFor('openai.chat.completions', 'chat').observe(0.002);
    expect(m.durationFor('openai.chat.completions', 'chat')).toBe(m.durationFor('openai.chat.completions', 'chat'));
    expect(m.durationFor('openai.chat.completions', 'other')).not.toBe(m.durationFor('openai.chat.completions', 'chat'));
    m.tokensFor('chat', 'prompt').inc(7);
    m.tokensFor('chat', 'completion').inc(3);
    m.upstreamDurationFor('chat').observe(0.001);
    const text = await m.registry.metrics();
    expect(text).toContain('rampart_gateway_requests_total{route="openai.chat.completions",model="chat",decision="allow",status="200"} 2');
    expect(text).toContain('rampart_gateway_requests_total{route="openai.chat.completions",model="chat",decision="allow",status="429"} 1');
    expect(text).toContain('rampart_gateway_tokens_total{model="chat",kind="prompt"} 7');
    expect(text).toContain('rampart_gateway_tokens_total{model="chat",kind="completion"} 3');
    expect(text).toContain('rampart_gateway_request_duration_seconds_count{route="openai.chat.completions",model="chat"} 1');
    expect(text).toContain('rampart_gateway_upstream_duration_seconds_count{model="chat"} 1');
  });

  it('still counts label sets beyond the memo bound, each in its own series', async () => {
    const m = createMetrics(false);
    for (let i = 0; i < 5000; i++) m.requestsFor('generic', `m${i}`, 'allow', 200).inc();
    m.requestsFor('generic', 'm4999', 'allow', 200).inc();
    m.requestsFor('generic', 'm0', 'allow', 200).inc();
    const text = await m.registry.metrics();
    expect(text).toContain('rampart_gateway_requests_total{route="generic",model="m4999",decision="allow",status="200"} 2');
    expect(text).toContain('rampart_gateway_requests_total{route="generic",model="m0",decision="allow",status="200"} 2');
    expect(text.match(/^rampart_gateway_requests_total\{/gm)).toHaveLength(5000);
  });
});
