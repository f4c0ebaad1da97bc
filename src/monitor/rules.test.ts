// User rules: filters (value, list, gte/lte/prefix/not), count / sum / distinct over a sliding
// window per group, re-arming, message templates; config validation.
import { describe, expect, it } from 'vitest';
import { makeEvent, type RampartEvent } from '../events/schema.js';
import { ruleSchema } from './config.js';
import { RuleDetector, matchesFilter } from './rules.js';

const req = (t: number, principal: string, data: Record<string, unknown>): RampartEvent =>
  makeEvent({ type: 'gateway.request', source: 't', time: t, principal, model: String(data.model ?? 'm'), data });

describe('rules', () => {
  it('filters on fields with values, lists and comparisons', () => {
    const e = req(0, 'alice', { status: 503, route: 'openai.chat.completions' });
    expect(matchesFilter(e, { type: 'gateway.request', 'data.status': { gte: 500, lte: 599 } })).toBe(true);
    expect(matchesFilter(e, { principal: ['bob', 'alice'], 'data.route': { prefix: 'openai.' } })).toBe(true);
    expect(matchesFilter(e, { principal: { not: 'alice' } })).toBe(false);
    expect(matchesFilter(e, { 'data.status': { lte: 499 } })).toBe(false);
    expect(matchesFilter(e, { 'data.missing.deep': 1 })).toBe(false);
  });

  it('sum over a sliding window per group, with the message template and re-arming', () => {
    const rule = ruleSchema.parse({ id: 'big-out', filter: { type: 'gateway.request' }, aggregate: 'sum', field: 'data.bytesOut', groupBy: ['principal'], window: '1m', threshold: 1000, severity: 'high', message: '{{principal}} read {{value}} bytes in {{window}}' });
    const d = new RuleDetector(rule);
    expect(d.observe(req(0, 'alice', { bytesOut: 600 }))).toEqual([]);
    expect(d.observe(req(1000, 'bob', { bytesOut: 600 }))).toEqual([]);
    const hit = d.observe(req(2000, 'alice', { bytesOut: 500 }));
    expect(hit).toHaveLength(1);
    expect(hit[0]).toMatchObject({ detector: 'rule:big-out', severity: 'high', title: 'alice read 1100 bytes in 60s', subject: { principal: 'alice' } });
    expect(d.observe(req(3000, 'alice', { bytesOut: 500 }))).toEqual([]);
    // The first 600 leaves the window at 60 s: 1000 stays at threshold (armed only once below).
    expect(d.observe(req(61_000, 'alice', { bytesOut: 0 }))).toEqual([]);
    expect(d.observe(req(125_000, 'alice', { bytesOut: 10 }))).toEqual([]);
    expect(d.observe(req(126_000, 'alice', { bytesOut: 2000 }))).toHaveLength(1);
  });

  it('distinct count of a field', () => {
    const d = new RuleDetector(ruleSchema.parse({ id: 'models', aggregate: 'distinct', field: 'model', groupBy: ['principal'], window: '10m', threshold: 3 }));
    const out = ['a', 'a', 'b', 'b', 'c'].flatMap((m, i) => d.observe(req(i * 1000, 'eve', { model: m })));
    expect(out).toHaveLength(1);
    expect(out[0]!.details).toMatchObject({ value: 3, aggregate: 'distinct' });
  });

  it('config: sum and distinct need a field; ids are validated', () => {
    expect(ruleSchema.safeParse({ id: 'x', aggregate: 'sum', threshold: 1 }).success).toBe(false);
    expect(ruleSchema.safeParse({ id: 'Bad Id', threshold: 1 }).success).toBe(false);
    expect(ruleSchema.safeParse({ id: 'x', threshold: 1, extra: true }).success).toBe(false);
    expect(ruleSchema.parse({ id: 'x', threshold: 1, window: '30s' }).window).toBe(30_000);
  });
});
