// Public entry of the event layer: the versioned event schema, the non-blocking bus and the
// persistence of events in the store.
export { EVENT_SCHEMA, EVENT_TYPES, makeEvent, isEvent, eventsFromAudit, eventField, type RampartEvent, type EventType, type NewEvent, type GatewayRequestData } from './schema.js';
export { EventBus, type EventBusOptions, type EventBusStats, type EventHandler } from './bus.js';
export { persistEvents, type EventPersister, type EventPersisterOptions } from './persist.js';
export { tapAuditLog } from './audit-tap.js';
export { recordEvents, keyOperationEvent } from './record.js';
