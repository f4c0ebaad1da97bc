// The audit writer thread (see thread.ts): its own connection to the embedded SQLite store and a
// ChainedAuditLog fed with the gateway thread's records (serialised here when they came as tuples
// of values). Its log lines go to the parent thread, which writes them with the gateway's logger.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import { ChainedAuditLog, auditBody, type AuditWriterConfig } from './audit-log.js';
import { tupleRecordJson } from './canonical-json.js';
import { fromTuple } from './record-tuple.js';
import type { FromAuditThread, ToAuditThread } from './thread.js';

interface Init {
  path: string;
  cfg: AuditWriterConfig;
  logLevel: string;
  flushIntervalMs?: number;
}

const port = parentPort!;
const init = workerData as Init;
const post = (m: FromAuditThread): void => port.postMessage(m);

const logger = createLogger({
  level: init.logLevel,
  destination: { write: (line: string) => post({ t: 'log', line }) },
}).child({ component: 'audit' });

function errorOf(e: unknown): { code: string; message: string } {
  return { code: String((e as { code?: unknown }).code ?? 'RAMPART_ERR_INTERNAL'), message: (e as Error)?.message ?? String(e) };
}

let log: ChainedAuditLog;
let store: ReturnType<typeof openSqliteStore>;
try {
  store = openSqliteStore({ path: init.path }, logger);
  log = new ChainedAuditLog(store.audit, init.cfg, logger, {
    ...(init.flushIntervalMs !== undefined ? { flushIntervalMs: init.flushIntervalMs } : {}),
    onPersisted: (n) => post({ t: 'persisted', n }),
  });
  post({ t: 'ready' });
} catch (e) {
  post({ t: 'failed', error: errorOf(e) });
  process.exit(1);
}

port.on('message', (m: ToAuditThread) => {
  switch (m.t) {
    case 'bodies':
      for (const b of m.bodies) log.recordBody(typeof b === 'string' ? b : (tupleRecordJson(b) ?? auditBody(fromTuple(b), init.cfg.includeBodies, logger)));
      break;
    case 'flush':
      // Progress is reported through 'persisted'; a flush only asks for the batch to go now.
      void log.flush().catch(() => undefined);
      break;
    case 'close':
      log
        .close()
        .finally(() => store.close())
        .then(
          () => post({ t: 'done', id: m.id }),
          (e: unknown) => post({ t: 'done', id: m.id, error: errorOf(e) }),
        );
      break;
  }
});
