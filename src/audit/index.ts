// The tamper-evident audit trail: the writer the gateway records to (createAuditLog), the
// verifier (verifyAudit) and the readers used by `rampart audit tail|export`.
export { createAuditLog, ChainedAuditLog, type AuditLogOptions } from './audit-log.js';
export { verifyAudit, type VerifyResult, type VerifyOptions, type TamperReason } from './verify.js';
export { canonicalJson } from './canonical-json.js';
export { entryHash, nextEntry, selfConsistent, CHAIN_DOMAIN, GENESIS_HASH } from './chain.js';
export { iterateAudit, followAudit, lastAuditEntries, entryToJsonl, writeAuditJsonl, exportAuditJsonlFile, type ExportFilter } from './export.js';
export { verifyAuditExport, type ExportVerifyResult } from './verify-export.js';
