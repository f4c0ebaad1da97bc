// The primary's checks on worker messages, and the cache of the aggregated /metrics.
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../events/schema.js';
import { cachedFor, readWorkerMessage, TAG } from './cluster-ipc.js';

const record = {
  id: 'r1', time: new Date(0).toISOString(), principal: 'p', authMethod: 'api-key', model: 'chat', action: 'invoke', route: 'openai.chat.completions', method: 'POST', path: '/v1/chat/completions',
  sourceIp: '127.0.0.1', decision: 'allow', policyIds: ['all'], errorCode: null, status: 200, latencyMs: 3, upstreamMs: 2, bytesIn: 10, bytesOut: 20, usage: null,
};

describe('readWorkerMessage', () => {
  it('refuses operations that are not a list (regression: the primary threw in its message handler)', () => {
    expect(readWorkerMessage({ t: TAG, ops: 5 })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: TAG, ops: { 0: ['flush', 1] } })).toEqual({ msg: null, dropped: 1 });
  });

  it('keeps the well-formed operations of a message and counts the others', () => {
    const ev = makeEvent({ type: 'guard.verdict', source: 'gateway', data: {} });
    const good = [['acquire', 1, 'alice', 'chat', true], ['release', 1, { promptTokens: 1, completionTokens: 2, totalTokens: 3 }], ['release', 2, null], ['record', record], ['flush', 3], ['metrics', 4], ['events', [ev]]];
    const bad = [null, 'x', ['acquire'], ['acquire', 1, {}, 'chat', true], ['acquire', 0, 'a', 'b', false], ['release', 'a', null], ['release', 1, { totalTokens: 'x' }], ['flush', -1], ['metrics', 1.5],
      ['record', { ...record, decision: 'maybe' }], ['record', { id: 1 }], ['events', 'no'], ['events', [null]], ['events', [{ ...ev, type: 'made.up' }]], ['unknown', 1]];
    const r = readWorkerMessage({ t: TAG, ops: [...bad.slice(0, 7), ...good, ...bad.slice(7)] });
    expect(r.dropped).toBe(bad.length);
    expect(r.msg).toEqual({ t: TAG, ops: good });
  });

  it('checks the other messages, and ignores messages of other protocols', () => {
    expect(readWorkerMessage({ t: TAG, metricsRes: 'a', data: [] })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: TAG, metricsRes: 7, data: [] }).msg).toEqual({ t: TAG, metricsRes: 7, data: [] });
    expect(readWorkerMessage({ t: TAG, ready: true }).msg).toEqual({ t: TAG, ready: true });
    expect(readWorkerMessage({ t: TAG, startError: { x: 1 } }).msg).toEqual({ t: TAG, startError: 'unknown error' });
    expect(readWorkerMessage({ t: TAG, nothing: 1 })).toEqual({ msg: null, dropped: 1 });
    expect(readWorkerMessage({ t: 'other', ops: 5 })).toEqual({ msg: null, dropped: 0 });
    expect(readWorkerMessage(null)).toEqual({ msg: null, dropped: 0 });
  });
});

describe('cachedFor', () => {
  it('reuses a result for the given time, shares the call in flight, and never keeps a failure', async () => {
    let clock = 0;
    let calls = 0;
    let fail = false;
    const get = cachedFor(
      1000,
      async () => {
        calls++;
        if (fail) throw new Error('down');
        return calls;
      },
      () => clock,
    );
    const [a, b] = await Promise.all([get(), get()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    clock = 999;
    expect(await get()).toBe(1);
    clock = 1000;
    expect(await get()).toBe(2);
    clock = 3000;
    fail = true;
    await expect(get()).rejects.toThrow('down');
    fail = false;
    expect(await get()).toBe(4);
    expect(calls).toBe(4);
  });
});
