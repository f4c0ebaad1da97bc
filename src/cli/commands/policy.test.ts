import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(['node', 'rampart', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const POLICY = `@id("ml-engineers-use-everything")
permit (principal in Rampart::Role::"ml-engineer", action in [Rampart::Action::"invoke", Rampart::Action::"list"], resource);

@id("analysts-use-classifiers")
permit (principal in Rampart::Role::"analyst", action == Rampart::Action::"invoke", resource)
when { resource.kind == "classifier" };
`;

const CONFIG = `server:
  allowPlainHttp: true
store:
  type: sqlite
  path: ':memory:'
policy:
  files: [policies]
models:
  - name: chat
    protocol: openai
    upstream: { url: 'http://127.0.0.1:9' }
    attributes: { kind: llm, owner: ml }
  - name: digits
    protocol: kserve-v2
    upstream: { url: 'http://127.0.0.1:9' }
    attributes: { kind: classifier, owner: vision }
`;

const TESTS = `config: gateway.yaml
tests:
  - name: alice may chat
    principal: { id: alice, roles: [ml-engineer] }
    action: invoke
    model: chat
    expect: allow
    expectPolicies: [ml-engineers-use-everything]
  - name: bob may classify digits
    principal: { id: bob, roles: [analyst] }
    action: invoke
    model: digits
    context: { time: '2026-11-27T10:00:00Z', sourceIp: 10.0.0.8, attributes: { stream: false } }
    expect: allow
  - name: bob may not chat
    principal: { id: bob, roles: [analyst] }
    action: invoke
    model: chat
    expect: deny
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-policy-cli-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'main.cedar'), POLICY);
  writeFileSync(join(dir, 'gateway.yaml'), CONFIG);
  writeFileSync(join(dir, 'tests.yaml'), TESTS);
  writeFileSync(join(dir, 'models.yaml'), 'models:\n  - { name: chat, protocol: openai, attributes: { kind: llm } }\n  - { name: digits, attributes: { kind: classifier } }\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rampart policy validate', () => {
  it('exits 0 for valid policies, from a config or from --policies with --models', async () => {
    const a = await run('policy', 'validate', '--config', join(dir, 'gateway.yaml'));
    expect(a).toMatchObject({ code: 0 });
    expect(a.out).toContain('ok: 2 policies in 1 files');
    const b = await run('policy', 'validate', '--policies', join(dir, 'policies'), '--models', join(dir, 'models.yaml'), '--format', 'json');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ valid: true, problems: [] });
  });

  it('exits 1 listing file:line: reason for each problem', async () => {
    const bad = join(dir, 'bad.cedar');
    writeFileSync(bad, 'permit (principal, action, resource);\n\npermit (principal, action == Rampart::Action::"invoke", resource)\nwhen { resource.colour == "blue" };\n');
    const r = await run('policy', 'validate', '--policies', bad, '--models', join(dir, 'models.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: .*colour`, 'm'));
    // Without --models the built-in schema has no `kind` attribute.
    expect((await run('policy', 'validate', '--policies', join(dir, 'policies'))).code).toBe(1);
    expect((await run('policy', 'validate')).code).toBe(2);
    expect((await run('policy', 'validate', '--policies', join(dir, 'nope'))).code).toBe(2);
  });
});

describe('rampart policy test', () => {
  it('passes when every decision matches', async () => {
    const r = await run('policy', 'test', join(dir, 'tests.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('PASS  alice may chat');
    expect(r.out).toContain('3 passed, 0 failed');
  });

  it('exits 1 and names the case whose decision differs', async () => {
    const f = join(dir, 'failing.yaml');
    writeFileSync(
      f,
      TESTS.replace('expect: deny', 'expect: allow').replace('expectPolicies: [ml-engineers-use-everything]', 'expectPolicies: [analysts-use-classifiers]'),
    );
    const r = await run('policy', 'test', f, '--format', 'json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out) as { passed: number; failed: number; results: Array<{ name: string; pass: boolean; reason?: string }> };
    expect(out).toMatchObject({ passed: 1, failed: 2 });
    expect(out.results.filter((x) => !x.pass).map((x) => x.name)).toEqual(['alice may chat', 'bob may not chat']);
  });

  it('refuses a malformed test file with exit 2', async () => {
    const f = join(dir, 'malformed.yaml');
    writeFileSync(f, 'config: gateway.yaml\ntests:\n  - name: x\n    principal: { id: a }\n    action: fly\n    model: chat\n    expect: allow\n');
    const r = await run('policy', 'test', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain('RAMPART_ERR_POLICY_TEST_INVALID');
    writeFileSync(f, 'tests: [unclosed');
    expect((await run('policy', 'test', f)).err).toContain('RAMPART_ERR_POLICY_TEST_INVALID');
  });

  it('prints the built-in schema with the config\'s model attributes', async () => {
    const r = await run('policy', 'schema', '--config', join(dir, 'gateway.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('"kind": String,');
    expect(r.out).toContain('namespace Rampart');
  });
});
