import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyToJson, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSchema, type ModelConfig } from '../config/schema.js';
import type { AuthzContext } from '../core/contracts.js';
import type { Principal } from '../core/types.js';
import { contextPathsUsed } from './context-paths.js';
import { checkPolicies, loadPolicyEngine } from './index.js';
import { normalizeIp } from './request.js';
import { builtinSchemaText } from './schema.js';

const code = (c: string) => expect.objectContaining({ code: c }) as Error;

const models: ModelConfig[] = [
  { name: 'chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:1' }, attributes: { owner: 'ml', sensitivity: 'high', environment: 'prod', tier: 2 } },
  { name: 'digits', protocol: 'kserve-v2', upstream: { url: 'http://127.0.0.1:2' }, attributes: { owner: 'vision', sensitivity: 'low', environment: 'prod' } },
  { name: 'staging-chat', protocol: 'openai', upstream: { url: 'http://127.0.0.1:3' }, attributes: { owner: 'ml', sensitivity: 'low', environment: 'staging' } },
].map((m) => modelSchema.parse(m));

const user = (id: string, roles: string[], extra: Partial<Principal> = {}): Principal => ({ id, kind: 'user', roles, groups: [], authMethod: 'api-key', attributes: {}, ...extra });
const ctx = (over: Partial<AuthzContext> = {}): AuthzContext => ({
  time: new Date('2026-11-27T10:30:00Z'), // a Friday
  sourceIp: '10.1.2.3',
  route: 'openai.chat.completions',
  method: 'POST',
  attributes: {},
  ...over,
});

const MAIN = `// Rampart test policies — ünïcödé comment to check line numbers
@id("analysts-use-low")
permit (principal in Rampart::Role::"analyst", action == Rampart::Action::"invoke", resource)
when { resource.sensitivity == "low" };

@id("admins-everything")
permit (principal in Rampart::Role::"admin", action, resource);

permit (principal, action == Rampart::Action::"list", resource is Rampart::Model)
when { resource.environment == "prod" && principal.roles.contains("viewer") };

@id("no-streaming-for-interns")
forbid (principal in Rampart::Role::"intern", action == Rampart::Action::"invoke", resource)
when { context.request has stream && context.request.stream };
`;

const HOURS = `@id("office-hours")
permit (principal in Rampart::Role::"contractor", action == Rampart::Action::"invoke", resource is Rampart::Model)
when { context.time.hour >= 8 && context.time.hour < 18 && context.time.weekday >= 1 && context.time.weekday <= 5
       && context.sourceIp.isInRange(ip("10.0.0.0/8")) && resource has tier && resource.tier >= 2 };

permit (principal is Rampart::Service, action == Rampart::Action::"invoke", resource)
when { principal.hasTag("team") && principal.getTag("team") == resource.owner };
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-policy-'));
  mkdirSync(join(dir, 'good', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'good', 'main.cedar'), MAIN);
  writeFileSync(join(dir, 'good', 'nested', 'hours.cedar'), HOURS);
  writeFileSync(join(dir, 'good', 'ignored.txt'), 'not a policy');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('Cedar policy engine', () => {
  it('allows by role and attribute, denies by default, forbid wins, and names the deciding policies', () => {
    const e = loadPolicyEngine({ files: [join(dir, 'good')] }, models);
    expect(e.policyIds).toEqual(['analysts-use-low', 'admins-everything', 'main.cedar#2', 'no-streaming-for-interns', 'office-hours', 'nested/hours.cedar#1']);
    const analyst = user('alice', ['analyst']);
    expect(e.authorize({ principal: analyst, action: 'invoke', model: 'digits', context: ctx() })).toEqual({ decision: 'allow', policyIds: ['analysts-use-low'], errors: [] });
    expect(e.authorize({ principal: analyst, action: 'invoke', model: 'chat', context: ctx() })).toEqual({ decision: 'deny', policyIds: [], errors: [] });
    expect(e.authorize({ principal: user('nobody', []), action: 'invoke', model: 'digits', context: ctx() }).decision).toBe('deny');
    expect(e.authorize({ principal: user('root', ['admin']), action: 'invoke', model: 'chat', context: ctx() })).toMatchObject({ decision: 'allow', policyIds: ['admins-everything'] });
    expect(e.authorize({ principal: user('root', ['admin']), action: 'admin', model: '', context: ctx() })).toMatchObject({ decision: 'allow' });
    expect(e.authorize({ principal: analyst, action: 'admin', model: '', context: ctx() }).decision).toBe('deny');
    const intern = user('ian', ['analyst', 'intern']);
    expect(e.authorize({ principal: intern, action: 'invoke', model: 'digits', context: ctx() }).decision).toBe('allow');
    expect(e.authorize({ principal: intern, action: 'invoke', model: 'digits', context: ctx({ attributes: { stream: true } }) })).toEqual({
      decision: 'deny',
      policyIds: ['no-streaming-for-interns'],
      errors: [],
    });
    expect(e.authorize({ principal: analyst, action: 'invoke', model: 'nope', context: ctx() })).toMatchObject({ decision: 'deny', errors: [expect.stringContaining('unknown model')] });
  });

  it('uses time, source address, model attributes and principal tags from the context', () => {
    const e = loadPolicyEngine({ files: [join(dir, 'good')] }, models);
    const c = user('carl', ['contractor']);
    const at = (iso: string, ip = '10.9.9.9') => e.authorize({ principal: c, action: 'invoke', model: 'chat', context: ctx({ time: new Date(iso), sourceIp: ip }) }).decision;
    expect(at('2026-11-27T10:30:00Z')).toBe('allow');
    expect(at('2026-11-27T07:59:59Z')).toBe('deny'); // before 8:00 UTC
    expect(at('2026-11-27T18:00:00Z')).toBe('deny');
    expect(at('2026-11-28T10:30:00Z')).toBe('deny'); // Saturday
    expect(at('2026-11-27T10:30:00Z', '192.168.1.1')).toBe('deny');
    expect(at('2026-11-27T10:30:00Z', '::ffff:10.0.0.1')).toBe('allow');
    // digits has no `tier`: the `has` guard keeps it denied without an error.
    expect(e.authorize({ principal: c, action: 'invoke', model: 'digits', context: ctx() })).toEqual({ decision: 'deny', policyIds: [], errors: [] });
    const svc: Principal = { id: 'svc', kind: 'service', roles: [], groups: [], authMethod: 'jwt', attributes: { team: 'vision' } };
    expect(e.authorize({ principal: svc, action: 'invoke', model: 'digits', context: ctx() })).toMatchObject({ decision: 'allow', policyIds: ['nested/hours.cedar#1'] });
    expect(e.authorize({ principal: svc, action: 'invoke', model: 'chat', context: ctx() }).decision).toBe('deny');
    // Same principal as a user (not a Service): the `is` constraint does not match.
    expect(e.authorize({ principal: { ...svc, kind: 'user' }, action: 'invoke', model: 'digits', context: ctx() }).decision).toBe('deny');
  });

  it('gives cached and uncached decisions that agree', () => {
    const e = loadPolicyEngine({ files: [join(dir, 'good')] }, models);
    const c = user('carl', ['contractor']);
    const hours = [6, 9, 12, 17, 18, 23];
    const first = hours.map((h) => e.authorize({ principal: c, action: 'invoke', model: 'chat', context: ctx({ time: new Date(Date.UTC(2026, 10, 27, h, 5)) }) }).decision);
    const again = hours.map((h) => e.authorize({ principal: c, action: 'invoke', model: 'chat', context: ctx({ time: new Date(Date.UTC(2026, 10, 27, h, 45)) }) }).decision);
    expect(first).toEqual(['deny', 'allow', 'allow', 'allow', 'deny', 'deny']);
    expect(again).toEqual(first);
    // Roles are part of the key: the same id with other roles gets its own decision.
    expect(e.authorize({ principal: user('carl', []), action: 'invoke', model: 'chat', context: ctx() }).decision).toBe('deny');
  });

  it('caches decisions by principal object for frozen principals when no policy reads the context', () => {
    mkdirSync(join(dir, 'no-context'), { recursive: true });
    writeFileSync(
      join(dir, 'no-context', 'p.cedar'),
      '@id("analysts-low")\npermit (principal in Rampart::Role::"analyst", action == Rampart::Action::"invoke", resource) when { resource.sensitivity == "low" };\n' +
        '@id("list-all")\npermit (principal, action == Rampart::Action::"list", resource);\n',
    );
    const e = loadPolicyEngine({ files: [join(dir, 'no-context')] }, models);
    const freeze = (p: Principal): Principal => {
      Object.freeze(p.roles);
      Object.freeze(p.groups);
      Object.freeze(p.attributes);
      return Object.freeze(p);
    };
    const analyst = freeze(user('ann', ['analyst']));
    const other = freeze(user('ann', ['viewer']));
    for (const action of ['invoke', 'list', 'admin'] as const) {
      for (const model of ['chat', 'digits', 'staging-chat', 'unknown']) {
        for (const p of [analyst, other]) {
          const first = e.authorize({ principal: p, action, model, context: ctx() });
          // The same answer as for an equal principal that is not frozen (the string-keyed path).
          expect(first).toEqual(e.authorize({ principal: { ...p, roles: [...p.roles] }, action, model, context: ctx() }));
          // And the same decision object again: served from the cache.
          if (model !== 'unknown') expect(e.authorize({ principal: p, action, model, context: ctx({ sourceIp: '10.9.9.9' }) })).toBe(first);
        }
      }
    }
    expect(e.authorize({ principal: analyst, action: 'invoke', model: 'digits', context: ctx() })).toMatchObject({ decision: 'allow', policyIds: ['analysts-low'] });
    expect(e.authorize({ principal: other, action: 'invoke', model: 'digits', context: ctx() }).decision).toBe('deny');
  });

  it('lists the models a principal may list or invoke', () => {
    const e = loadPolicyEngine({ files: [join(dir, 'good')] }, models);
    expect(e.listAllowed(user('alice', ['analyst']), ctx())).toEqual(['digits', 'staging-chat']);
    expect(e.listAllowed(user('vic', ['viewer']), ctx())).toEqual(['chat', 'digits']);
    expect(e.listAllowed(user('root', ['admin']), ctx())).toEqual(['chat', 'digits', 'staging-chat']);
    expect(e.listAllowed(user('nobody', []), ctx())).toEqual([]);
  });

  it('denies everything with an empty policy folder (default deny)', () => {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    const e = loadPolicyEngine({ files: [join(dir, 'empty')] }, models);
    expect(e.authorize({ principal: user('root', ['admin']), action: 'invoke', model: 'chat', context: ctx() })).toEqual({ decision: 'deny', policyIds: [], errors: [] });
  });
});

describe('policy validation at load time', () => {
  it('reports a syntax error with file and line', () => {
    const f = write('syntax.cedar', '// héllo\n\npermit (principal, action, resource)\nwhen { 1 + };\n');
    expect(() => loadPolicyEngine({ files: [f] }, models)).toThrowError(code('RAMPART_ERR_POLICY_INVALID'));
    try {
      loadPolicyEngine({ files: [f] }, models);
    } catch (e) {
      expect((e as Error).message.startsWith(`${f}:4: `)).toBe(true);
    }
  });

  it('reports schema violations (unknown attribute, optional attribute without has, wrong type, unknown action) with lines', () => {
    const f = write(
      'typed.cedar',
      [
        'permit (principal, action == Rampart::Action::"invoke", resource) when { resource.colour == "red" };',
        '',
        'permit (principal, action == Rampart::Action::"invoke", resource) when { resource.tier > 1 };',
        'permit (principal, action == Rampart::Action::"invoke", resource) when { resource.owner > 1 };',
        'permit (principal, action == Rampart::Action::"delete", resource);',
        'permit (principal, action, resource) when { context.request.stream };',
      ].join('\n'),
    );
    const check = checkPolicies({ files: [f] }, models);
    expect(check.schemaProblems).toEqual([]);
    // Line 6 is reported once per action it could apply to.
    expect([...new Set(check.problems.map((p) => p.line))]).toEqual([1, 3, 4, 5, 6]);
    expect(check.problems.every((p) => p.file === f && p.message.length > 0)).toBe(true);
    expect(() => loadPolicyEngine({ files: [f] }, models)).toThrowError(code('RAMPART_ERR_POLICY_INVALID'));
  });

  it('refuses duplicate @id annotations and templates', () => {
    const a = write('dup-a.cedar', '@id("same")\npermit (principal, action, resource);\n');
    const b = join(dir, 'dup-b.cedar');
    const b2 = write('dup-b.cedar', 'permit (principal, action, resource);\n\n@id("same")\nforbid (principal, action, resource);\n');
    expect(b2).toBe(b);
    expect(checkPolicies({ files: [a, b] }, models).problems).toEqual([
      { file: b, line: 3, message: `duplicate policy id "same" (also in ${a}:1)` },
    ]);
    const t = write('tpl.cedar', 'permit (principal == ?principal, action, resource);\n');
    expect(() => loadPolicyEngine({ files: [t] }, models)).toThrowError(code('RAMPART_ERR_POLICY_INVALID'));
  });

  it('uses a user schema file and reports its errors with file and line', () => {
    const schema = write('user.cedarschema', 'namespace Rampart {\n  entity Role;\n  entity User in [Role];\n  entity Service in [Role];\n  entity Model { owner: String };\n  action invoke appliesTo { principal: [User, Service], resource: [Model] };\n}\n');
    const pol = write('user-schema.cedar', 'permit (principal in Rampart::Role::"ml", action == Rampart::Action::"invoke", resource) when { resource.owner == "ml" };\n');
    const e = loadPolicyEngine({ files: [pol], schema }, models);
    expect(e.authorize({ principal: user('m', ['ml']), action: 'invoke', model: 'chat', context: ctx() }).decision).toBe('allow');
    // `sensitivity` exists in the built-in schema but not in this one.
    const pol2 = write('user-schema2.cedar', 'permit (principal, action == Rampart::Action::"invoke", resource) when { resource.sensitivity == "low" };\n');
    expect(() => loadPolicyEngine({ files: [pol2], schema }, models)).toThrowError(code('RAMPART_ERR_POLICY_INVALID'));
    const bad = write('bad.cedarschema', 'namespace Rampart {\n  entity Model {\n    owner: Strin,\n  };\n}\n');
    expect(() => loadPolicyEngine({ files: [pol], schema: bad }, models)).toThrowError(code('RAMPART_ERR_POLICY_SCHEMA_INVALID'));
    const check = checkPolicies({ files: [pol], schema: bad }, models);
    expect(check.schemaProblems[0]).toMatchObject({ file: bad, line: 3 });
  });

  it('refuses model attributes of conflicting types or reserved names', () => {
    const conflicting = [
      modelSchema.parse({ name: 'a', protocol: 'generic', upstream: { url: 'http://x' }, attributes: { tier: 1 } }),
      modelSchema.parse({ name: 'b', protocol: 'generic', upstream: { url: 'http://x' }, attributes: { tier: 'gold' } }),
    ];
    expect(() => loadPolicyEngine({ files: [join(dir, 'empty')] }, conflicting)).toThrowError(code('RAMPART_ERR_POLICY_SCHEMA_INVALID'));
    const reserved = [modelSchema.parse({ name: 'a', protocol: 'generic', upstream: { url: 'http://x' }, attributes: { name: 'x' } })];
    expect(() => loadPolicyEngine({ files: [join(dir, 'empty')] }, reserved)).toThrowError(code('RAMPART_ERR_POLICY_SCHEMA_INVALID'));
  });

  it('declares the request attributes the gateway passes', () => {
    const f = write(
      'request-attrs.cedar',
      'permit (principal, action, resource) when { (context.request has version && context.request.version == "2") || (context.request has path && context.request.path like "/v1/*") || (context.request has n && context.request.n > 1) || (context.request has max_completion_tokens && context.request.max_completion_tokens < 10) };\n',
    );
    expect(checkPolicies({ files: [f] }, models).problems).toEqual([]);
    const e = loadPolicyEngine({ files: [f] }, models);
    expect(e.authorize({ principal: user('a', []), action: 'invoke', model: 'digits', context: ctx({ attributes: { version: '2' } }) }).decision).toBe('allow');
    expect(e.authorize({ principal: user('a', []), action: 'invoke', model: 'digits', context: ctx({ attributes: { path: '/v1/x', n: 1.5 } }) }).decision).toBe('allow');
    expect(e.authorize({ principal: user('a', []), action: 'invoke', model: 'digits', context: ctx({ attributes: { path: '/v2/x', n: 1 } }) }).decision).toBe('deny');
  });

  it('refuses a missing policy path', () => {
    expect(() => loadPolicyEngine({ files: [join(dir, 'missing.cedar')] }, models)).toThrowError(code('RAMPART_ERR_FILE_NOT_FOUND'));
  });

  it('declares model attributes as required only when every model has them', () => {
    const s = builtinSchemaText(models);
    expect(s).toContain('"owner": String,');
    expect(s).toContain('"tier"?: Long,');
  });
});

describe('helpers', () => {
  const json = (t: string): PolicyJson => {
    const r = policyToJson(t);
    if (r.type !== 'success') throw new Error('bad test policy');
    return r.json;
  };
  it('finds the context paths policies read', () => {
    expect(contextPathsUsed([json('permit(principal,action,resource) when { context.time.hour > 3 && context.request has stream };')])).toEqual(new Set(['time.hour', 'request.stream']));
    expect(contextPathsUsed([json('permit(principal,action,resource) when { context.sourceIp.isLoopback() };')])).toEqual(new Set(['sourceIp']));
    expect(contextPathsUsed([json('permit(principal,action,resource) when { context == {} };')])).toBe('all');
    expect(contextPathsUsed([json('permit(principal,action,resource);')])).toEqual(new Set());
  });
  it('normalizes source addresses', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('garbage')).toBe('0.0.0.0');
  });
});

describe('docs/policies.md', () => {
  it('has example policies that pass strict validation', () => {
    const doc = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
    // Every cedar block of the page, checked against the test models and one dataset like the page's.
    const block = [...doc.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
    const f = write('doc-examples.cedar', block);
    const check = checkPolicies({ files: [f] }, models, [{ name: 'transactions', attributes: { owner: 'risk' } }]);
    expect(check.problems).toEqual([]);
    expect(check.policies.map((p) => p.id)).toContain('analysts-office-hours');
  });
});
