// End-to-end: `rampart keys` and `rampart policy` as a user runs them (bin/rampart.js over dist/,
// which `npm test` builds first): exit codes 0 / 1 / 2, the key printed once, file:line reasons.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/rampart.js');
const built = existsSync(path.join(ROOT, 'dist/cli/commands/keys.js')) && existsSync(path.join(ROOT, 'dist/cli/commands/policy.js'));

const work = mkdtempSync(path.join(tmpdir(), 'rampart-access-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rampart(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Few spawns on purpose: each one starts the whole CLI.
describe.skipIf(!built)('rampart keys / policy CLI', { timeout: 120_000 }, () => {
  it('creates a key in ./rampart.db and prints it alone on stdout', () => {
    const c = rampart('keys', 'create', '--principal', 'alice', '--roles', 'analyst');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toMatch(/^rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(c.stderr).toContain('shown only this once');
    expect(existsSync(path.join(work, 'rampart.db'))).toBe(true);
  });

  it('validates policies: exit 1 with file:line: reason', () => {
    const bad = path.join(work, 'bad.cedar');
    writeFileSync(bad, '@id("ok")\npermit (principal in Rampart::Role::"admin", action, resource);\n\npermit (principal, action, resource) when { resource.nope == 1 };\n');
    const r = rampart('policy', 'validate', '--policies', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}:4: `);
  });

  it('runs a policy test file and exits 1 naming the case whose decision differs', () => {
    writeFileSync(path.join(work, 'p.cedar'), 'permit (principal in Rampart::Role::"admin", action, resource);\n');
    writeFileSync(
      path.join(work, 't.yaml'),
      'policies: [p.cedar]\nmodels: [{ name: chat }]\ntests:\n  - name: admin\n    principal: { id: a, roles: [admin] }\n    action: invoke\n    model: chat\n    expect: deny\n  - name: other\n    principal: { id: b }\n    action: invoke\n    model: chat\n    expect: deny\n',
    );
    const r = rampart('policy', 'test', 't.yaml');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('FAIL  admin: expected deny, got allow');
    expect(r.stdout).toContain('PASS  other');
    expect(r.stdout).toContain('1 passed, 1 failed');
  });
});
