// `rampart alerts list|ack|resolve` against a real SQLite store, through commander.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { openSqliteStore } from '../../store/sqlite.js';
import type { AlertRecord } from '../../store/types.js';
import { register } from './alerts.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-alerts-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  try {
    await program.parseAsync(['node', 'rampart', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

const alert = (id: string, firstSeen: number): AlertRecord => ({
  id,
  dedupKey: `k-${id}`,
  detector: 'enumeration',
  severity: 'high',
  status: 'open',
  title: `alert ${id}`,
  details: '{"distinct":14}',
  firstSeen,
  lastSeen: firstSeen,
  count: 1,
  ackedBy: null,
  ackedAt: null,
  resolvedBy: null,
  resolvedAt: null,
});

describe('rampart alerts', () => {
  it('lists, acknowledges and resolves, recording who', async () => {
    const path = join(dir, 'a.db');
    const store = openSqliteStore({ path }, silentLogger());
    await store.alerts.insertAlert(alert('a-1', 1000));
    await store.alerts.insertAlert(alert('a-2', 2000));
    await store.close();

    const table = await run('alerts', 'list', '--store', path);
    expect(table.split('\n')[0]).toMatch(/^ID\s+STATUS\s+SEVERITY\s+DETECTOR/);
    expect(table).toContain('a-2  open');
    expect(await run('alerts', 'ack', 'a-1', '--store', path, '--by', 'dana')).toBe('alert a-1 acknowledged by dana\n');
    const json = JSON.parse(await run('alerts', 'resolve', 'a-1', '--store', path, '--by', 'eve', '--format', 'json')) as Record<string, unknown>;
    expect(json).toMatchObject({ id: 'a-1', status: 'resolved', ackedBy: 'dana', resolvedBy: 'eve', details: { distinct: 14 } });
    const open = JSON.parse(await run('alerts', 'list', '--store', path, '--status', 'open', '--format', 'json')) as { id: string }[];
    expect(open.map((a) => a.id)).toEqual(['a-2']);
    await expect(run('alerts', 'ack', 'a-1', '--store', path)).rejects.toMatchObject({ code: 'RAMPART_ERR_MONITOR_ALERT_TRANSITION' });
    await expect(run('alerts', 'resolve', 'nope', '--store', path)).rejects.toMatchObject({ code: 'RAMPART_ERR_MONITOR_ALERT_NOT_FOUND' });
    await expect(run('alerts', 'list', '--store', path, '--status', 'weird')).rejects.toMatchObject({ code: 'RAMPART_ERR_USAGE' });
    await expect(run('alerts', 'list', '--store', join(dir, 'missing.db'))).rejects.toMatchObject({ code: 'RAMPART_ERR_FILE_NOT_FOUND' });
  });
});
