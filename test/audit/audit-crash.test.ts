// A gateway process killed with SIGKILL mid-traffic: the chain it leaves verifies, and holds every
// record that was flushed before the kill (only the unflushed queue is lost). Runs the built
// library (dist/) in a child process; skipped when dist has not been built.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify.js';
import { silentLogger } from '../../src/core/logger.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const dist = new URL('../../dist/', import.meta.url);
const built = existsSync(new URL('audit/index.js', dist)) && existsSync(new URL('store/index.js', dist));
const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { createAuditLog } from ${JSON.stringify(new URL('audit/index.js', dist).href)};
import { openStore } from ${JSON.stringify(new URL('store/index.js', dist).href)};
import { silentLogger } from ${JSON.stringify(new URL('core/logger.js', dist).href)};
const store = await openStore({ type: 'sqlite', path: process.argv[2] }, silentLogger());
const log = createAuditLog(store.audit, { includeBodies: false, checkpointEvery: 50, flushEvery: 40 }, silentLogger());
let i = 0;
const rec = () => ({ id: 'r' + i++, time: new Date().toISOString(), principal: 'p', authMethod: 'api-key', model: 'm', action: 'invoke',
  route: 'generic', method: 'POST', path: '/x', sourceIp: '127.0.0.1', decision: 'allow', policyIds: [], errorCode: null,
  status: 200, latencyMs: 1, upstreamMs: 1, bytesIn: 1, bytesOut: 1, usage: null });
for (let k = 0; k < 300; k++) log.record(rec());
await log.flush();
process.stdout.write('flushed ' + i + '\\n');
// Keep recording without flushing until killed.
setInterval(() => { for (let k = 0; k < 25; k++) log.record(rec()); }, 1);
`;

describe.runIf(built)('audit after a crash', () => {
  it('SIGKILL between batches leaves a chain that verifies, with everything flushed before', async () => {
    const script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    const db = join(dir, 'crash.db');
    const child = spawn(process.execPath, [script, db], { stdio: ['ignore', 'pipe', 'inherit'] });
    const flushed = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /flushed (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error('child exited early')));
    });
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const store = openSqliteStore({ path: db }, silentLogger());
    const r = await verifyAudit(store.audit);
    expect(r.ok).toBe(true);
    expect(r.checked).toBeGreaterThanOrEqual(flushed);
    await store.close();
  });
});
