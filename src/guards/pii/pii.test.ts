import { describe, expect, it } from 'vitest';
import type { GuardSlot } from '../pipeline.js';
import { SseGuard } from '../sse.js';
import { GuardFailedError } from '../errors.js';
import { requestTexts, responseTexts } from '../text.js';
import type { Guard, GuardContext, RequestInput, ResponseInput } from '../types.js';
import { jsonStrings, piiGuardFactory, piiOptions } from './index.js';

const env = {} as never;
const guard = async (opts: unknown = {}): Promise<Guard> => piiGuardFactory.create('pii', piiOptions.parse(opts), env);

function req(route: string, body: Record<string, unknown>, protocol: GuardContext['protocol'] = 'openai'): RequestInput {
  return { route, protocol, body, texts: () => requestTexts(route, body) } as unknown as RequestInput;
}
function res(route: string, body: unknown, protocol: GuardContext['protocol'] = 'openai'): ResponseInput {
  return { route, protocol, body, status: 200, texts: () => responseTexts(route, body) } as unknown as ResponseInput;
}

const KEY = 'ghp_' + 'aB3dE5'.repeat(6);

describe('pii guard', () => {
  it('redacts a card in a chat request and flags an e-mail by default', async () => {
    const g = await guard();
    const body = { model: 'm', messages: [{ role: 'user', content: 'card 4111 1111 1111 1111, mail bob@corp.io' }] };
    const v = await g.checkRequest!(req('openai.chat.completions', body));
    expect(v.action).toBe('redact');
    expect(v.reasons.map((r) => r.code).sort()).toEqual(['pii.card', 'pii.email']);
    expect(JSON.stringify(v.reasons)).not.toContain('4111');
    v.apply!();
    expect(body.messages[0]!.content).toBe('card [REDACTED:card], mail bob@corp.io');
  });

  it('blocks when a type is configured to block, and masks cards when asked', async () => {
    const g = await guard({ types: { 'github-token': { request: 'block' } }, redaction: 'mask' });
    const v = await g.checkRequest!(req('openai.completions', { prompt: `use ${KEY}` }));
    expect(v.action).toBe('block');
    expect(v.status).toBe(403);
    const body = { prompt: 'pay 4111-1111-1111-1111' };
    const v2 = await g.checkRequest!(req('openai.completions', body));
    v2.apply!();
    expect(body.prompt).toBe('pay ****-****-****-1111');
  });

  it('walks every string of a generic JSON body', async () => {
    const g = await guard();
    const body = { a: { b: [`x ${KEY}`, 3, { c: 'DE89 3704 0044 0532 0130 00' }] } };
    const v = await g.checkRequest!(req('generic', body, 'generic'));
    expect(v.reasons.map((r) => [r.code, r.where])).toEqual([
      ['pii.github-token', '/a/b/0'],
      ['pii.iban', '/a/b/2/c'],
    ]);
    v.apply!();
    expect(body).toEqual({ a: { b: ['x [REDACTED:github-token]', 3, { c: '[REDACTED:iban]' }] } });
    expect(jsonStrings({ 'a/b': { '~': 's' } })[0]!.pointer).toBe('/a~1b/~0');
    // Regression: past 64 levels or the string cap the walk stopped silently, and the rest passed unscanned.
    let deep: unknown = { k: 'deep secret' };
    for (let i = 0; i < 64; i++) deep = { d: deep };
    expect(jsonStrings(deep).map((s) => s.text)).toEqual(['deep secret']);
    expect(() => jsonStrings({ d: deep })).toThrow(GuardFailedError);
    expect(() => jsonStrings({ list: ['a', 'b', 'c'] }, 2)).toThrow(GuardFailedError);
    expect(jsonStrings({ list: ['a', 'b'] }, 2).length).toBe(2);
  });

  it('redacts secrets in a response; allow-lists and off are honoured', async () => {
    const g = await guard({ allow: { emailDomains: ['example.com'], testCards: true }, types: { iban: { response: 'off' } } });
    const body = { choices: [{ message: { role: 'assistant', content: `k=${KEY} bob@example.com 4111111111111111 DE89370400440532013000` } }] };
    const v = await g.checkResponse!(res('openai.chat.completions', body));
    expect(v.action).toBe('redact');
    expect(v.reasons.map((r) => r.code)).toEqual(['pii.github-token']);
    v.apply!();
    expect(body.choices[0]!.message.content).toBe('k=[REDACTED:github-token] bob@example.com 4111111111111111 DE89370400440532013000');
  });

  it('does not run on KServe routes', async () => {
    const g = await guard();
    expect(g.supports('kserve.infer', 'kserve')).toBe(false);
    expect(g.supports('openai.responses', 'openai')).toBe(true);
    expect(g.supports('generic', 'generic')).toBe(true);
  });

  it('stream filter: a key split over two deltas is released redacted, per channel', async () => {
    const g = await guard();
    const f = g.openStream!({} as GuardContext)!;
    const a = f.push('c0', `token ${KEY.slice(0, 9)}`);
    const b = f.push('c1', 'other channel ');
    const c = f.push('c0', `${KEY.slice(9)} done`);
    const d = f.end('c0');
    expect(a.release + c.release + d.release).toBe('token [REDACTED:github-token] done');
    expect(c.verdict?.action).toBe('redact');
    expect(c.verdict?.reasons[0]?.code).toBe('pii.github-token');
    expect(b.release + f.end('c1').release).toBe('other channel ');
  });

  it('stream: a key split over reasoning_content deltas and inside an object-valued Responses delta is redacted (regression: both passed unscanned)', async () => {
    const g = await guard();
    const slot = { guard: g, name: 'pii', kind: 'pii', shadow: false, failOpen: false, timeoutMs: 100, routes: null, models: () => true } as GuardSlot;
    const send = (s: SseGuard, objs: unknown[]): string =>
      objs.map((o) => s.event({ raw: `data: ${JSON.stringify(o)}\n\n`, data: JSON.stringify(o) }).out).join('') + s.end().out;
    const chat = send(new SseGuard('openai.chat.completions', [{ slot, filter: g.openStream!({} as GuardContext)! }]), [
      { choices: [{ index: 0, delta: { reasoning_content: `the token is ${KEY.slice(0, 12)}` } }] },
      { choices: [{ index: 0, delta: { reasoning_content: `${KEY.slice(12)} ok` } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ]);
    expect(chat).not.toContain(KEY.slice(4, 12));
    expect(chat).toContain('[REDACTED:github-token]');
    const resp = send(new SseGuard('openai.responses', [{ slot, filter: g.openStream!({} as GuardContext)! }]), [
      { type: 'response.new_thing.delta', output_index: 0, delta: { parts: [{ text: `key ${KEY.slice(0, 20)}` }] } },
      { type: 'response.new_thing.delta', output_index: 0, delta: { parts: [{ text: KEY.slice(20) }] } },
    ]);
    expect(resp).not.toContain(KEY.slice(4, 20));
    expect(resp).toContain('[REDACTED:github-token]');
  });

  it('rejects unknown options', () => {
    expect(() => piiOptions.parse({ nope: 1 })).toThrow();
    expect(() => piiOptions.parse({ types: { card: { request: 'drop' } } })).toThrow();
  });
});
