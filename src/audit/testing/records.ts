// Test helpers for the audit layer: deterministic audit records and a log capture.
// (src/**/testing/** is not compiled into dist.)
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AuditRecord } from '../../core/contracts.js';
import type { Logger } from '../../core/logger.js';

export function sampleRecord(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: `req-${i}`,
    time: new Date(Date.UTC(2026, 10, 28, 12, 0, 0) + i * 1000).toISOString(),
    principal: i % 3 === 0 ? 'alice' : 'svc-batch',
    authMethod: 'api-key',
    model: i % 2 ? 'chat-small' : 'digits',
    action: 'invoke',
    route: 'openai.chat.completions',
    method: 'POST',
    path: '/v1/chat/completions',
    sourceIp: '127.0.0.1',
    decision: i % 5 === 0 ? 'deny' : 'allow',
    policyIds: i % 5 === 0 ? [] : ['policy0'],
    errorCode: i % 5 === 0 ? 'RAMPART_ERR_AUTHZ_DENIED' : null,
    status: i % 5 === 0 ? 403 : 200,
    latencyMs: 1.25 + i,
    upstreamMs: i % 5 === 0 ? null : 1 + i,
    bytesIn: 1024,
    bytesOut: 2048,
    usage: { promptTokens: 10, completionTokens: i, totalTokens: 10 + i },
    ...over,
  };
}

/** A logger whose JSON lines are kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, dest), lines };
}
