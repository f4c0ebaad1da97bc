import { describe, expect, it } from 'vitest';
import { matchRoute } from './routes.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('route matching', () => {
  it('maps every documented route', () => {
    expect(matchRoute('POST', '/v1/chat/completions', '/metrics')).toMatchObject({ id: 'openai.chat.completions', action: 'invoke' });
    expect(matchRoute('POST', '/v1/responses', '/metrics').id).toBe('openai.responses');
    expect(matchRoute('GET', '/v1/models', '/metrics')).toMatchObject({ id: 'openai.models.list', action: 'list' });
    expect(matchRoute('GET', '/v1/models/org%2Fmodel', '/metrics')).toMatchObject({ id: 'openai.models.retrieve', model: 'org/model' });
    expect(matchRoute('POST', '/v2/models/m/infer', null)).toMatchObject({ id: 'kserve.infer', model: 'm' });
    expect(matchRoute('POST', '/v2/models/m/versions/2/infer', null)).toMatchObject({ id: 'kserve.infer', model: 'm', version: '2' });
    expect(matchRoute('GET', '/v2/models/m/versions/2', null)).toMatchObject({ id: 'kserve.model.metadata', version: '2' });
    expect(matchRoute('GET', '/v2/models/m/ready', null).id).toBe('kserve.model.ready');
    expect(matchRoute('HEAD', '/v2/health/live', null).id).toBe('kserve.health.live');
    expect(matchRoute('POST', '/generic/m/a/b', null)).toMatchObject({ id: 'generic', model: 'm', rest: '/a/b' });
    expect(matchRoute('GET', '/generic/m', null)).toMatchObject({ rest: '/' });
    expect(matchRoute('GET', '/metrics', '/metrics').id).toBe('metrics');
  });

  it('refuses unknown routes, wrong methods and bad segments with codes', () => {
    expect(code(() => matchRoute('GET', '/metrics', null))).toBe('RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND');
    expect(code(() => matchRoute('DELETE', '/v1/chat/completions', null))).toBe('RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED');
    expect(code(() => matchRoute('GET', '/v2/models/m/infer', null))).toBe('RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED');
    expect(code(() => matchRoute('GET', '/v2/models/%E0%A4%A', null))).toBe('RAMPART_ERR_GATEWAY_BAD_REQUEST');
    expect(code(() => matchRoute('GET', '/v2/models/../infer', null))).toBe('RAMPART_ERR_GATEWAY_BAD_REQUEST');
    expect(code(() => matchRoute('POST', '/generic/m/%2e./x', null))).toBe('RAMPART_ERR_GATEWAY_BAD_REQUEST');
    expect(code(() => matchRoute('POST', '/v2/models//infer', null))).toBe('RAMPART_ERR_GATEWAY_BAD_REQUEST');
  });
});
