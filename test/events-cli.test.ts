// End-to-end with the built CLI: `rampart scan --events-store` records a scan.result event (counts,
// never finding text); `rampart events list` reads it back as JSON lines and as a table; a store
// that cannot be opened is a warning and leaves the scan's exit code alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callPickle } from '../src/scan/testing/pickle-builder.js';

const bin = join(import.meta.dirname, '..', 'bin', 'rampart.js');
const built = existsSync(join(import.meta.dirname, '..', 'dist', 'cli', 'commands', 'events.js'));
let dir: string;

function rampart(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-events-cli-'));
  writeFileSync(join(dir, 'evil.bin'), callPickle('os', 'system', 'echo pwned'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(built)('scan.result events and rampart events list (CLI)', () => {
  it('records the scan outcome in the store and lists it', () => {
    const db = join(dir, 'rampart.db');
    // keys create makes the store (and records a key.operation event).
    expect(rampart('keys', 'create', '--principal', 'ci', '--store', db).status).toBe(0);
    const scan = rampart('scan', join(dir, 'evil.bin'), '--events-store', db, '--format', 'json');
    expect(scan.status).toBe(1);
    const list = rampart('events', 'list', '--store', db, '--type', 'scan.result', '--format', 'jsonl');
    expect(list.status).toBe(0);
    const events = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; severity: string; source: string; data: Record<string, unknown> });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'scan.result', source: 'scanner', severity: 'critical', data: { kind: 'model', files: 1, maxSeverity: 'critical', exitCode: 1 } });
    expect((events[0]!.data.findings as Record<string, number>).critical).toBeGreaterThanOrEqual(1);
    // Counts and rule ids only: the command line the pickle would run is not in the event.
    expect(list.stdout).not.toContain('pwned');
    const table = rampart('events', 'list', '--store', db);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/key\.operation/);
    expect(table.stdout).toMatch(/scan\.result\s+critical/);
  });

  it('a store that cannot be opened is a warning, not a different exit code', () => {
    const r = rampart('scan', join(dir, 'evil.bin'), '--events-store', join(dir, 'missing', 'nope.db'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/warning: scan\.result event not recorded/);
    expect(rampart('events', 'list', '--store', join(dir, 'nope.db')).status).not.toBe(0);
    expect(rampart('events', 'list', '--store', join(dir, 'rampart.db'), '--type', 'bogus').status).not.toBe(0);
  });
});
