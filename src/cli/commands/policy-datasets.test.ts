// Regression (security review): `rampart policy validate|test|schema --config` must see the same
// Cedar schema and entities as the gateway, datasets included (Rampart::Dataset, action `ingest`).
// Before, the tools left the config's datasets out: a valid ingest policy was reported invalid,
// an ingest test case could not pass, and the printed schema lacked the dataset attributes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { loadPolicyEngine } from '../../policy/index.js';
import { main } from '../main.js';

async function run(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(['node', 'rampart', ...args]), out };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const POLICY = `@id("ml-use-models")
permit (principal in Rampart::Role::"ml-engineer", action in [Rampart::Action::"invoke", Rampart::Action::"list"], resource);

@id("ml-feeds-own-datasets")
permit (principal in Rampart::Role::"ml-engineer", action == Rampart::Action::"ingest", resource is Rampart::Dataset)
when { resource.owner == "ml" };
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
datasets:
  - name: feedback
    baseline: feedback.baseline.json
    attributes: { owner: ml }
  - name: payroll
    baseline: payroll.baseline.json
    attributes: { owner: finance }
`;

const TESTS = `config: gateway.yaml
tests:
  - name: alice feeds the ml dataset
    principal: { id: alice, roles: [ml-engineer] }
    action: ingest
    model: feedback
    expect: allow
  - name: alice may not feed finance data
    principal: { id: alice, roles: [ml-engineer] }
    action: ingest
    model: payroll
    expect: deny
  - name: a model-only policy does not open datasets (default deny)
    principal: { id: bob, roles: [viewer] }
    action: ingest
    model: feedback
    expect: deny
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-policy-ds-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'main.cedar'), POLICY);
  writeFileSync(join(dir, 'gateway.yaml'), CONFIG);
  writeFileSync(join(dir, 'tests.yaml'), TESTS);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('policy tools with datasets in the config', () => {
  it('the gateway accepts the ingest policy (the reference the tools must agree with)', () => {
    const { config } = loadConfig(join(dir, 'gateway.yaml'));
    expect(() => loadPolicyEngine(config.policy, config.models, config.datasets)).not.toThrow();
  });

  it('validate sees Rampart::Dataset with its attributes', async () => {
    const r = await run('policy', 'validate', '--config', join(dir, 'gateway.yaml'));
    expect(r.out).toContain('ok: 2 policies');
    expect(r.code).toBe(0);
  });

  it('test decides ingest cases as the gateway would', async () => {
    const r = await run('policy', 'test', join(dir, 'tests.yaml'), '--format', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ passed: 3, failed: 0 });
  });

  it('schema prints the dataset attributes', async () => {
    const r = await run('policy', 'schema', '--config', join(dir, 'gateway.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/entity Dataset \{[^}]*"owner": String/);
  });
});
