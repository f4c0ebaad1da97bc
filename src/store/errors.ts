// Coded errors of the store layer (src/store). Documented in docs/errors.md under "Store".
import { defineError } from '../core/errors.js';

export const StoreOpenError = defineError('RAMPART_ERR_STORE_OPEN', 'the store could not be opened');
export const StoreMigrationError = defineError(
  'RAMPART_ERR_STORE_MIGRATION',
  'the store schema could not be migrated (or was written by a newer Rampart)',
);
export const StoreUnavailableError = defineError('RAMPART_ERR_STORE_UNAVAILABLE', 'a store operation failed (database or server unavailable)');
export const StoreDuplicateKeyError = defineError('RAMPART_ERR_STORE_DUPLICATE_KEY', 'a record with this id already exists');
export const StoreAuditConflictError = defineError(
  'RAMPART_ERR_STORE_AUDIT_CONFLICT',
  'an audit append did not continue the stored chain (another writer appended first)',
);
export const StoreBadArgumentError = defineError('RAMPART_ERR_STORE_BAD_ARGUMENT', 'a store operation was called with an invalid argument');
