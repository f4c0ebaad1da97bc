import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScan, type RunScanOptions } from './run-scan.js';
import { scanPaths } from './engine.js';
import { callPickle, torchStateDictPickle } from './testing/pickle-builder.js';
import { buildTorchZip, writeSparseTorchZip } from './testing/zip-builder.js';

let dir: string;
const base: RunScanOptions = { format: 'json', allowGlobals: [], denyGlobals: [], color: false, version: 'test' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-scan-'));
  mkdirSync(join(dir, 'clean', '.hidden'), { recursive: true });
  writeFileSync(join(dir, 'clean', 'model.pt'), buildTorchZip(torchStateDictPickle([{ name: 'w', key: '0', shape: [2] }]), { '0': new Uint8Array(8) }));
  writeFileSync(join(dir, 'clean', '.hidden', 'README'), 'just text\n');
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'weights.txt'), callPickle('os', 'system', 'id')); // renamed pickle
  writeFileSync(join(dir, 'custom.pkl'), callPickle('mypkg.models', 'Net'));
  writeFileSync(join(dir, 'outside.bin'), 'x');
  symlinkSync(join(dir, 'outside.bin'), join(dir, 'clean', 'link'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runScan', () => {
  it('clean tree: exit 0; symlink reported, not followed; hidden files scanned', async () => {
    const r = await runScan([join(dir, 'clean')], base);
    expect(r.exitCode).toBe(0);
    const files = r.report.files.map((f) => f.file);
    expect(files.some((f) => f.endsWith('.hidden/README'))).toBe(true);
    const link = r.report.findings.find((f) => f.ruleId === 'RMP-SCAN-005');
    expect(link?.severity).toBe('medium'); // target outside the scanned tree
    expect(JSON.parse(r.output)).toBeTypeOf('object');
  });
  it('a renamed malicious pickle fails the scan with exit 1', async () => {
    const r = await runScan([join(dir, 'bad')], base);
    expect(r.exitCode).toBe(1);
    expect(r.report.findings.some((f) => f.severity === 'critical' && f.file.endsWith('weights.txt'))).toBe(true);
  });
  it('--fail-on, allow-list flags and the config file', async () => {
    const file = join(dir, 'custom.pkl');
    expect((await runScan([file], base)).exitCode).toBe(1); // unknown callable called: high
    expect((await runScan([file], { ...base, failOn: 'critical' })).exitCode).toBe(0);
    expect((await runScan([file], { ...base, allowGlobals: ['mypkg.models.Net'] })).exitCode).toBe(0);
    const cfg = join(dir, 'rampart.scan.yaml');
    writeFileSync(cfg, 'denyGlobals: [mypkg.*]\nfailOn: critical\nlimits:\n  timeout: 30s\n');
    const r = await runScan([file], { ...base, config: cfg });
    expect(r.exitCode).toBe(1);
    expect(r.report.findings.some((f) => f.severity === 'critical')).toBe(true);
    writeFileSync(cfg, 'denyGlobal: [x]\n');
    await expect(runScan([file], { ...base, config: cfg })).rejects.toMatchObject({ code: 'RAMPART_ERR_SCAN_CONFIG_INVALID' });
    await expect(runScan([file], { ...base, allowGlobals: ['not a pattern'] })).rejects.toMatchObject({ code: 'RAMPART_ERR_SCAN_CONFIG_INVALID' });
  });
  it('baselines accept reviewed findings, and only those', async () => {
    const bl = join(dir, 'baseline.json');
    const first = await runScan([join(dir, 'custom.pkl')], { ...base, writeBaseline: bl });
    expect(first.exitCode).toBe(1);
    const second = await runScan([join(dir, 'custom.pkl')], { ...base, baseline: bl });
    expect(second.exitCode).toBe(0);
    expect(second.report.suppressed).toBe(first.report.findings.length);
    const third = await runScan([join(dir, 'bad')], { ...base, baseline: bl });
    expect(third.exitCode).toBe(1);
    writeFileSync(bl, '{"x":1}');
    await expect(runScan([join(dir, 'custom.pkl')], { ...base, baseline: bl })).rejects.toMatchObject({ code: 'RAMPART_ERR_SCAN_BASELINE_INVALID' });
    expect(readFileSync(bl, 'utf8')).toBe('{"x":1}');
  });
  it('a missing path is an error (exit 2 at the CLI)', async () => {
    await expect(runScan([join(dir, 'nope')], base)).rejects.toMatchObject({ code: 'RAMPART_ERR_FILE_NOT_FOUND' });
  });
  it('an unreadable file is incomplete: exit 2, never clean', async () => {
    if (process.getuid?.() === 0) return; // root reads everything
    const f = join(dir, 'locked.pkl');
    writeFileSync(f, 'x', { mode: 0o000 });
    const r = await runScan([f], base);
    expect(r.exitCode).toBe(2);
    expect(r.report.files[0]?.complete).toBe(false);
  });
  it('the time budget ends a scan with an incomplete finding', async () => {
    const big = new Uint8Array(30 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 7) big[i] = 0x93; // many STACK_GLOBAL candidates to probe
    const f = join(dir, 'slow.bin');
    writeFileSync(f, big);
    const r = await scanPaths([f], { limits: { timeoutMs: 50 } as never });
    expect(r.files[0]?.complete).toBe(false);
    expect(r.findings.some((x) => x.ruleId === 'RMP-SCAN-002')).toBe(true);
  });
  it('a 512 MiB PyTorch checkpoint is scanned without reading its tensors', async () => {
    const f = join(dir, 'big.pt');
    writeSparseTorchZip(f, 64, 8 * 1024 * 1024, torchStateDictPickle([{ name: 'w', key: '0', shape: [2] }]));
    const stats = { bytesRead: 0 };
    const r = await scanPaths([f], { stats });
    expect(r.files[0]?.formats).toEqual(expect.arrayContaining(['zip', 'pytorch', 'pickle']));
    expect(r.files[0]?.complete).toBe(true);
    expect(stats.bytesRead).toBeLessThan(2 * 1024 * 1024);
    rmSync(f);
  });
  it('SARIF output renders', async () => {
    const r = await runScan([join(dir, 'bad')], { ...base, format: 'sarif' });
    const sarif = JSON.parse(r.output) as { version: string; runs: { results: unknown[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.results.length).toBeGreaterThan(0);
  });
});
