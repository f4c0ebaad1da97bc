// End-to-end: the built CLI (`bin/rampart.js scan`), its output formats and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callPickle, torchStateDictPickle } from '../src/scan/testing/pickle-builder.js';
import { buildTorchZip } from '../src/scan/testing/zip-builder.js';

const bin = join(import.meta.dirname, '..', 'bin', 'rampart.js');
const built = existsSync(join(import.meta.dirname, '..', 'dist', 'cli', 'commands', 'scan.js'));
let dir: string;

function rampart(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-scan-cli-'));
  writeFileSync(join(dir, 'good.pt'), buildTorchZip(torchStateDictPickle([{ name: 'w', key: '0', shape: [2] }]), { '0': new Uint8Array(8) }));
  writeFileSync(join(dir, 'evil.bin'), callPickle('os', 'system', 'id'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(built)('rampart scan (CLI)', () => {
  it('exit 0 and a table for a benign checkpoint', () => {
    const r = rampart('scan', join(dir, 'good.pt'));
    expect(r.status).toBe(0);
  });
  it('exit 1 and JSON naming the rule for a malicious file', () => {
    const r = rampart('scan', join(dir, 'evil.bin'), '--format', 'json');
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).findings.some((f: { ruleId: string }) => f.ruleId === 'RMP-PICKLE-003')).toBe(true);
  });
  it('SARIF to a file; --fail-on; exit 2 for a missing path or a bad flag', () => {
    const out = join(dir, 'r.sarif');
    const r = rampart('scan', dir, '--format', 'sarif', '-o', out, '--fail-on', 'critical');
    expect(r.status).toBe(1);
    expect(JSON.parse(readFileSync(out, 'utf8')).version).toBe('2.1.0');
    const missing = rampart('scan', join(dir, 'nope'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('RAMPART_ERR_FILE_NOT_FOUND');
    expect(rampart('scan', dir, '--fail-on', 'bogus').status).toBe(2);
  });
});
