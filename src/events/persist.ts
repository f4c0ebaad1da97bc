// Persists bus events in the store (EventStore) and prunes them by age, so detectors and people can
// look back at what happened. A store failure is logged and counted, never thrown at the bus.
import type { Logger } from '../core/logger.js';
import type { EventStore } from '../store/types.js';
import type { EventBus } from './bus.js';
import type { RampartEvent } from './schema.js';

export interface EventPersisterOptions {
  /** Events older than this many milliseconds are deleted. Default 30 days. */
  retentionMs?: number;
  /** How often retention runs. Default 1 hour. */
  pruneEveryMs?: number;
  /** Clock (tests and simulations). */
  now?: () => number;
  logger?: Logger;
}

export interface EventPersister {
  /** Events that could not be written (store errors). */
  readonly failed: number;
  /** Runs retention now; returns how many events were deleted. */
  prune(): Promise<number>;
  stop(): void;
}

export function persistEvents(bus: EventBus, store: EventStore, opts: EventPersisterOptions = {}): EventPersister {
  const retention = opts.retentionMs ?? 30 * 86_400_000;
  const now = opts.now ?? Date.now;
  let failed = 0;
  const unsubscribe = bus.subscribe('event-store', async (events: readonly RampartEvent[]) => {
    try {
      await store.appendEvents(events.map((e) => ({ id: e.id, time: e.time, type: e.type, principal: e.principal ?? null, body: JSON.stringify(e) })));
    } catch (err) {
      failed += events.length;
      opts.logger?.error({ err, n: events.length }, 'events: could not persist events');
    }
  });
  const prune = async (): Promise<number> => {
    try {
      return await store.pruneEvents(now() - retention);
    } catch (err) {
      opts.logger?.error({ err }, 'events: retention failed');
      return 0;
    }
  };
  const timer = setInterval(() => void prune(), Math.max(1000, opts.pruneEveryMs ?? 3_600_000));
  timer.unref();
  return {
    get failed() {
      return failed;
    },
    prune,
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
