// Turns the gateway's audit records into events: wraps an AuditLog so that every record is also
// published on the bus (gateway.request plus auth.failure / authz.deny / quota.exceeded). The
// gateway already produces exactly one audit record per request when the response ends, so this
// is the request-completion hook with no change to the request pipeline. Publishing never blocks.
import type { AuditLog, AuditRecord } from '../core/contracts.js';
import type { EventBus } from './bus.js';
import { eventsFromAudit } from './schema.js';

/** `bus`: the monitor's event bus, or anything that takes events like it (a gateway worker's link to the primary). */
export function tapAuditLog(inner: AuditLog, bus: Pick<EventBus, 'publish'>): AuditLog {
  return {
    record(rec: AuditRecord): void {
      inner.record(rec);
      try {
        bus.publish(...eventsFromAudit(rec));
      } catch {
        // eventsFromAudit only reads plain fields; nothing here may ever fail a request.
      }
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}
