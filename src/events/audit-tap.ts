// Turns the gateway's audit records into events: wraps an AuditLog so that every record is also
// published on the bus (gateway.request plus auth.failure / authz.deny / quota.exceeded). The
// gateway already produces exactly one audit record per request when the response ends, so this
// is the request-completion hook with no change to the request pipeline. Publishing never blocks.
import type { AuditLog, AuditRecord } from '../core/contracts.js';
import type { EventBus } from './bus.js';
import { eventsFromAudit } from './schema.js';

export function tapAuditLog(inner: AuditLog, bus: EventBus): AuditLog {
  return {
    record(rec: AuditRecord): void {
      inner.record(rec);
      try {
        bus.publish(...eventsFromAudit(rec));
      } catch {
        // eventsFromAudit only reads plain fields; nothing here may ever fail a request.
      }
    },
    recordBody(body: string): void {
      let rec: AuditRecord | null = null;
      try {
        rec = JSON.parse(body) as AuditRecord;
      } catch {
        // Chained all the same; only the events are missing.
      }
      if (inner.recordBody) inner.recordBody(body);
      else if (rec) inner.record(rec);
      try {
        if (rec) bus.publish(...eventsFromAudit(rec));
      } catch {
        // As above: publishing never fails a request.
      }
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}
