// Coded errors of the audit layer (src/audit). Documented in docs/errors.md under "Audit".
import { defineError } from '../core/errors.js';

export const AuditWriteFailedError = defineError('RAMPART_ERR_AUDIT_WRITE_FAILED', 'writing a batch of audit records failed; it is retried');
export const AuditFlushIncompleteError = defineError(
  'RAMPART_ERR_AUDIT_FLUSH_INCOMPLETE',
  'the audit log closed before every queued record could be written',
);
export const AuditClosedError = defineError('RAMPART_ERR_AUDIT_CLOSED', 'an audit record arrived after the audit log was closed');
export const AuditBadEntryError = defineError('RAMPART_ERR_AUDIT_BAD_ENTRY', 'a stored audit entry is not valid JSON of an audit record');
