// Events from short-lived processes (CLI commands: key operations, scans) that have no bus: written
// straight to the store's event table, best effort, so they appear in the event history next to
// the gateway's. A store without an event table, or a failed write, never fails the operation.
import type { Store } from '../store/types.js';
import { makeEvent, type RampartEvent } from './schema.js';

/** Persists events in the store; resolves to false when they could not be stored. */
export async function recordEvents(store: Store, ...events: RampartEvent[]): Promise<boolean> {
  if (!store.events || events.length === 0) return false;
  try {
    await store.events.appendEvents(events.map((e) => ({ id: e.id, time: e.time, type: e.type, principal: e.principal ?? null, body: JSON.stringify(e) })));
    return true;
  } catch {
    return false;
  }
}

/** A `key.operation` event (`operation`: create, revoke, rotate, retire, ...). `principal` is the key's owner. */
export function keyOperationEvent(operation: string, keyId: string, principal?: string, source = 'cli'): RampartEvent {
  return makeEvent({ type: 'key.operation', source, severity: 'info', ...(principal ? { principal } : {}), data: { operation, keyId } });
}
