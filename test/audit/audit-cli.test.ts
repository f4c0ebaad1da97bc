// `rampart audit verify|tail|export` end to end on a real SQLite store file: in-process through
// the CLI's main() (stdout captured), plus one run of the built bin/rampart.js when dist exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuditLog } from '../../src/audit/index.js';
import { sampleRecord } from '../../src/audit/testing/records.js';
import { main } from '../../src/cli/main.js';
import { silentLogger } from '../../src/core/logger.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-cli-'));
const db = join(dir, 'rampart.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'rampart', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(async () => {
  const store = openSqliteStore({ path: db }, silentLogger());
  // Each group of ten records is written at its own time: 12:00:00, 12:00:10, 12:00:20.
  let clock = 0;
  const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 10, flushEvery: 16 }, silentLogger(), {
    now: () => clock,
  });
  for (let i = 1; i <= 30; i++) {
    clock = Date.UTC(2026, 10, 28, 12, 0, 0) + Math.floor((i - 1) / 10) * 10_000;
    log.record(sampleRecord(i));
    if (i % 10 === 0) await log.flush();
  }
  await log.close();
  await store.close();
});

describe('rampart audit', () => {
  it('verify: exit 0 on an intact chain', async () => {
    const r = await run('audit', 'verify', '--store', db);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^audit chain intact: 30 entries, 3 checkpoint\(s\) matched, head seq 30\n$/);
  });

  it('verify --format json', async () => {
    const r = await run('audit', 'verify', '--store', db, '--format', 'json');
    expect(JSON.parse(r.out)).toEqual({ ok: true, checked: 30, lastSeq: 30, checkpoints: 3 });
  });

  it('tail -n 3 as a table and as JSON Lines', async () => {
    const t = await run('audit', 'tail', '-n', '3', '--store', db);
    expect(t.code).toBe(0);
    const lines = t.out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^seq\s+time\s+principal/);
    expect(lines[3]).toMatch(/^30\s+2026-11-28T12:00:30.000Z\s+alice\s+digits\s+invoke\s+deny\s+403\s+31.3\s+req-30$/);
    const j = await run('audit', 'tail', '-n', '2', '--format', 'json', '--store', db);
    expect(j.out.trimEnd().split('\n').map((l) => JSON.parse(l).seq)).toEqual([29, 30]);
  });

  it('export --format jsonl to a file, filtered by time, leaving no temporary file', async () => {
    const out = join(dir, 'out', 'audit.jsonl');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'out'));
    const r = await run('audit', 'export', '--format', 'jsonl', '-o', out, '--store', db, '--since', '2026-11-28T12:00:10Z', '--until', '2026-11-28T12:00:20Z');
    expect(r.code).toBe(0);
    const recs = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((x) => x.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(Object.keys(recs[0])).toEqual(['seq', 'time', 'prevHash', 'hash', 'record']);
    expect(recs[0].record.id).toBe('req-11');
    expect(readdirSync(join(dir, 'out'))).toEqual(['audit.jsonl']);
  });

  it('verify --file checks an export without the store', async () => {
    const out = join(dir, 'full.jsonl');
    expect((await run('audit', 'export', '--format', 'jsonl', '-o', out, '--store', db)).code).toBe(0);
    const ok = await run('audit', 'verify', '--file', out);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^audit export intact: 30 entries/);
    writeFileSync(out, readFileSync(out, 'utf8').replace('"req-9"', '"req-99"'));
    const bad = await run('audit', 'verify', '--file', out);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^audit export TAMPERED: first bad seq 9: altered/);
    expect((await run('audit', 'verify', '--file', out, '--store', db)).code).toBe(2);
  });

  it('export to stdout streams every record', async () => {
    const r = await run('audit', 'export', '--format', 'jsonl', '--store', db);
    expect(r.out.trimEnd().split('\n')).toHaveLength(30);
  });

  it('--config FILE finds the store through the gateway config (path relative to the config file)', async () => {
    const cfgDir = mkdtempSync(join(dir, 'cfg-'));
    writeFileSync(join(cfgDir, 'rampart.db'), readFileSync(db));
    const cfgFile = join(cfgDir, 'gateway.yaml');
    writeFileSync(
      cfgFile,
      [
        'server: { allowPlainHttp: true }',
        'store: { type: sqlite, path: rampart.db }',
        'policy: { files: [policies] }',
        'models: [{ name: m, protocol: generic, upstream: { url: "http://127.0.0.1:9" } }]',
        '',
      ].join('\n'),
    );
    const r = await run('audit', 'verify', '--config', cfgFile);
    expect(r.code).toBe(0);
    expect(r.out).toContain('30 entries');
    const bad = await run('audit', 'verify', '--config', join(cfgDir, 'missing.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('[RAMPART_ERR_CONFIG_NOT_FOUND]');
  });

  it('usage errors exit 2 with a coded one-line reason', async () => {
    expect((await run('audit', 'export', '--format', 'csv', '--store', db)).err).toContain('[RAMPART_ERR_USAGE]');
    expect((await run('audit', 'tail', '-n', 'x', '--store', db)).code).toBe(2);
    expect((await run('audit', 'verify', '--store', db, '--config', 'x.yaml')).code).toBe(2);
    expect((await run('audit', 'verify', '--store', db, '--anchor', '5:nothex')).code).toBe(2);
    const missing = await run('audit', 'verify', '--store', join(dir, 'nope.db'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('[RAMPART_ERR_FILE_NOT_FOUND]');
    expect(existsSync(join(dir, 'nope.db'))).toBe(false);
  });

  it('verify: exit 1 naming the first bad seq and reason on one line, after a direct edit', async () => {
    const copy = join(dir, 'tampered.db');
    writeFileSync(copy, readFileSync(db));
    const s = openSqliteStore({ path: copy }, silentLogger());
    s.db.exec(`UPDATE audit SET body = replace(body, '"status":200', '"status":201') WHERE seq = 17`);
    await s.close();
    const r = await run('audit', 'verify', '--store', copy);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^audit chain TAMPERED: first bad seq 17: altered \(.*\)\n$/);
  });

  it('the built CLI (bin/rampart.js) verifies too', { skip: !existsSync(new URL('../../dist/cli/commands/audit.js', import.meta.url)), timeout: 90_000 }, () => {
    const bin = new URL('../../bin/rampart.js', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'audit', 'verify', '--store', db], { encoding: 'utf8', timeout: 80_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('audit chain intact: 30 entries');
  });
});
