// Start-up replay of stored events: every event once, in time order, across pages whose boundary
// falls inside a run of equal timestamps; stops at the cap; skips what is not a v1 event.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { makeEvent, type RampartEvent } from '../events/schema.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Detection, Detector } from './detectors/index.js';
import { replayHistory } from './monitor.js';

class Recorder implements Detector {
  readonly id = 'rec';
  seen: RampartEvent[] = [];
  observe(e: RampartEvent): Detection[] {
    this.seen.push(e);
    return [];
  }
  tick(): Detection[] {
    return [];
  }
}

describe('replayHistory', () => {
  it('replays each stored event once, oldest first, and honours the cap', async () => {
    const store = openSqliteStore({ path: ':memory:' }, silentLogger());
    try {
      // 12,000 events on 40 distinct timestamps: every page boundary (5,000) cuts a run of equal times.
      const events = Array.from({ length: 12_000 }, (_, i) => makeEvent({ type: 'gateway.request', source: 't', id: `e${i}`, time: 1_000_000 + Math.floor(i / 300) * 1000, data: { i } }));
      await store.events.appendEvents(events.map((e) => ({ id: e.id, time: e.time, type: e.type, principal: null, body: JSON.stringify(e) })));
      await store.events.appendEvents([{ id: 'junk', time: 1_000_500, type: 'gateway.request', principal: null, body: '{"not":"an event"' }]);
      const rec = new Recorder();
      const n = await replayHistory(store.events, [rec], 0, 2_000_000_000, 1_000_000);
      expect(n).toBe(12_000);
      expect(new Set(rec.seen.map((e) => e.id)).size).toBe(12_000);
      expect(rec.seen.every((e, i) => i === 0 || e.time >= rec.seen[i - 1]!.time)).toBe(true);
      // The time range is honoured ([from, to)) and so is the cap.
      const part = new Recorder();
      expect(await replayHistory(store.events, [part], 1_001_000, 1_003_000, 1_000_000)).toBe(600);
      const capped = new Recorder();
      expect(await replayHistory(store.events, [capped], 0, 2_000_000_000, 7_777)).toBe(7_777);
      expect(capped.seen[0]!.id).toBe(rec.seen[0]!.id);
    } finally {
      await store.close();
    }
  });
});
