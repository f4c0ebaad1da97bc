// The extraction guard driven directly with KServe v2 bodies from the demo classifier, on real
// stores: detections throttle or block, the budget counts rows, state and penalties survive a
// restart on a SQLite file, and two replicas on PostgreSQL (state in PostgreSQL or Redis) share one
// principal's history.
/* eslint-disable @typescript-eslint/no-explicit-any -- v2 bodies are built loosely */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { trainDigits } from '../../demo/classifier/server.js';
import { describeClassifier, infer } from '../../demo/classifier/v2-protocol.js';
import { seededRandom } from '../../demo/classifier/model.js';
import { openSqliteStore } from '../../store/sqlite.js';
import { newNamespace, dropNamespace, openTestPgStore, serversAvailable } from '../../store/testing/servers.js';
import type { Store } from '../../store/types.js';
import type { Guard, GuardEnv, GuardVerdict, RequestInput, ResponseInput } from '../types.js';
import { extractionGuardFactory } from './index.js';

const t = trainDigits();
const desc = describeClassifier('digits', t.model);
const dir = mkdtempSync(join(tmpdir(), 'rampart-extraction-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function makeGuard(store: Store, options: Record<string, unknown> = {}): Promise<Guard> {
  const env = { logger: silentLogger(), store, emit: () => undefined, baseDir: dir, models: [] } as unknown as GuardEnv;
  return extractionGuardFactory.create('extraction', extractionGuardFactory.options.parse(options), env);
}

function ctx(principal: string, now: number) {
  return {
    requestId: 'r',
    route: 'kserve.infer',
    protocol: 'kserve' as const,
    model: { name: 'digits' } as any,
    principal: { id: principal, kind: 'user', roles: [], groups: [], authMethod: 'api-key', attributes: {} } as any,
    sourceIp: '127.0.0.1',
    now,
    signal: new AbortController().signal,
  };
}

/** One infer call through the guard's two phases; the model answers like the demo server. */
async function call(g: Guard, principal: string, rows: number[][], now: number): Promise<GuardVerdict> {
  const body = { inputs: [{ name: 'input', shape: [rows.length, 64], datatype: 'FP32', data: rows.flat() }] };
  const pre = await g.checkRequest!({ ...ctx(principal, now), body, texts: () => [], callModel: async () => ({ status: 500, body: null }) } as RequestInput);
  if (pre.action === 'block') return pre;
  const out = infer(t.model, desc, body);
  return g.checkResponse!({ ...ctx(principal, now), status: 200, body: out, requestBody: body, texts: () => [] } as ResponseInput);
}

/** Synthetic probing in the style of JbDA: a few seeds, each stepped by ±λ on every pixel. */
function probes(n: number, seed: number): number[][] {
  const rand = seededRandom(seed);
  const out: number[][] = [];
  for (let i = 0; out.length < n; i++) {
    const base = Array.from(t.test.x.subarray((i % 5) * 64, (i % 5) * 64 + 64));
    out.push(base.map((v) => Math.min(16, Math.max(0, v + (rand() < 0.5 ? -1.6 : 1.6) * Math.ceil(i / 5)))));
  }
  return out;
}

const benign = (from: number, n: number) => Array.from({ length: n }, (_, i) => Array.from(t.train.x.subarray((from + i) * 64, (from + i + 1) * 64)));

describe('extraction guard', () => {
  it('throttles a prober with 429 and Retry-After, lets benign principals through, and the penalty survives a restart (SQLite file)', async () => {
    const path = join(dir, 'restart.db');
    let store = openSqliteStore({ path }, silentLogger());
    let g = await makeGuard(store, { onDetect: { action: 'throttle', duration: '10m' } });
    const now = 1_800_000_000_000;
    let fired: GuardVerdict | null = null;
    let sent = 0;
    for (const batch of chunk(probes(400, 1), 10)) {
      const v = await call(g, 'mallory', batch, now + sent);
      sent += batch.length;
      if (v.action === 'block') {
        fired = v;
        break;
      }
    }
    expect(fired).toMatchObject({ action: 'block', status: 429, severity: 'high', reasons: [{ code: 'extraction.prada' }] });
    expect(fired!.retryAfterSeconds).toBe(600);
    expect(sent).toBeLessThanOrEqual(400);
    // Benign traffic of another principal: no alarm.
    for (const batch of chunk(benign(0, 300), 10)) expect((await call(g, 'alice', batch, now + 1000)).action).toBe('allow');
    // Restart: close (writes back), reopen the file, a new guard.
    await g.close!();
    await store.close();
    store = openSqliteStore({ path }, silentLogger());
    g = await makeGuard(store, { onDetect: { action: 'throttle', duration: '10m' } });
    const again = await call(g, 'mallory', benign(400, 1), now + 60_000);
    expect(again).toMatchObject({ action: 'block', status: 429, reasons: [{ code: 'extraction.penalty' }] });
    expect(again.retryAfterSeconds).toBeGreaterThanOrEqual(540);
    expect(again.retryAfterSeconds).toBeLessThanOrEqual(541);
    // alice's history came back too: her queries are known repeats, so they add no distances.
    const raw = await store.guardState!.getState('extraction/extraction/digits/alice', now + 60_000);
    expect(JSON.parse(raw!.value).v).toBe(1);
    expect((await call(g, 'alice', benign(0, 10), now + 60_000)).action).toBe('allow');
    // After the penalty the principal may query again.
    expect((await call(g, 'mallory', benign(500, 1), now + 11 * 60_000)).action).toBe('allow');
    await g.close!();
    await store.close();
  });

  it('blocks with 403 when so configured; the budget counts rows and throttles until the window ends', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const g = await makeGuard(store, { onDetect: { action: 'block' }, budget: { maxQueries: 50, window: '1m' }, prada: { enabled: false } });
    const now = 60_000 * 1000 + 15_000;
    expect((await call(g, 'bob', benign(0, 30), now)).action).toBe('allow');
    expect((await call(g, 'bob', benign(30, 20), now)).action).toBe('allow');
    const over = await call(g, 'bob', benign(50, 1), now + 1);
    expect(over).toMatchObject({ action: 'block', status: 403, severity: 'high', reasons: [{ code: 'extraction.budget' }] });
    expect((await call(g, 'bob', benign(51, 1), now + 2)).reasons[0]!.code).toBe('extraction.penalty');
    expect((await call(g, 'carol', benign(0, 1), now + 2)).action).toBe('allow');
    // The next window.
    expect((await call(g, 'bob', benign(52, 1), now + 60_000)).action).toBe('allow');
    await g.close!();
    await store.close();
  });

  it('fires on coverage when a principal explores too many cells', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const g = await makeGuard(store, { prada: { enabled: false }, coverage: { maxCells: 40, bits: 10, centre: 5 } });
    const rand = seededRandom(3);
    let v: GuardVerdict | null = null;
    for (let i = 0; i < 20 && v?.action !== 'block'; i++) v = await call(g, 'eve', Array.from({ length: 10 }, () => Array.from({ length: 64 }, () => rand() * 16)), 1_000 + i);
    expect(v).toMatchObject({ action: 'block', status: 429, reasons: [{ code: 'extraction.coverage' }] });
    await g.close!();
    await store.close();
  });

  it('refuses calls it cannot read with a coded error (the pipeline applies onError)', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    const g = await makeGuard(store);
    const bad = { inputs: [{ name: 'input', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] }] };
    await expect(
      Promise.resolve(g.checkResponse!({ ...ctx('x', 1), status: 200, body: { outputs: [] }, requestBody: bad, texts: () => [] } as ResponseInput)),
    ).rejects.toMatchObject({ code: 'RAMPART_ERR_EXTRACTION_UNREADABLE' });
    const ok = { inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: benign(0, 1)[0] }] };
    await expect(
      Promise.resolve(g.checkResponse!({ ...ctx('x', 1), status: 200, body: { outputs: [{ name: 'p', datatype: 'BYTES', shape: [1], data: ['x'] }] }, requestBody: ok, texts: () => [] } as ResponseInput)),
    ).rejects.toMatchObject({ code: 'RAMPART_ERR_EXTRACTION_UNREADABLE' });
    expect(extractionGuardFactory.options.safeParse({ prada: { delta: 1.5 } }).success).toBe(false);
    expect(extractionGuardFactory.options.safeParse({ nope: 1 }).success).toBe(false);
    await g.close!();
    await store.close();
  });
});

const available = await serversAvailable();
describe.runIf(available)('extraction guard on the server store (two replicas)', () => {
  it.each([false, true])('replicas share one principal: the prober is caught across both, and a penalty set by one is enforced by the other (Redis: %s)', async (redis) => {
    const ns = newNamespace();
    const sa = await openTestPgStore({ redis, ns });
    const sb = await openTestPgStore({ redis, ns });
    const opts = { state: { flushInterval: '20ms', penaltyRecheck: '0ms' } };
    const ga = await makeGuard(sa, opts);
    const gb = await makeGuard(sb, opts);
    try {
      const now = Date.now();
      let fired: GuardVerdict | null = null;
      let sent = 0;
      for (const [i, batch] of chunk(probes(600, 2), 10).entries()) {
        // Alternate replicas, letting each write back between batches.
        const v = await call(i % 2 ? gb : ga, 'mallory', batch, now + i);
        sent += batch.length;
        await new Promise((r) => setTimeout(r, 30));
        if (v.action === 'block') {
          fired = v;
          break;
        }
      }
      expect(fired?.reasons[0]!.code).toBe('extraction.prada');
      // Each replica alone saw only half the queries; together they reached the test.
      expect(sent).toBeLessThan(600);
      const byA = await call(ga, 'mallory', benign(0, 1), now + 1000);
      const byB = await call(gb, 'mallory', benign(0, 1), now + 1000);
      expect([byA.reasons[0]?.code, byB.reasons[0]?.code]).toEqual(['extraction.penalty', 'extraction.penalty']);
    } finally {
      await ga.close!();
      await gb.close!();
      await sa.close();
      await sb.close();
      await dropNamespace(ns);
    }
  });
});

function chunk<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}
