// Coded errors of the dataset readers and checks. Problems inside the data (a malformed row, a value
// of the wrong type) become RMP-DATA-* findings; these errors are for input that cannot be read at
// all and for the caller's mistakes.
import { defineError } from '../core/errors.js';

export const DatasetFormatError = defineError('RAMPART_ERR_DATASET_FORMAT', 'the dataset file cannot be parsed (or its format is not supported)');
export const DatasetColumnUnknownError = defineError('RAMPART_ERR_DATASET_COLUMN_UNKNOWN', 'a column named by --label, --id or --source does not exist in the dataset');
export const DatasetTooLargeError = defineError('RAMPART_ERR_DATASET_TOO_LARGE', 'a dataset record or array exceeds a reader limit');
export const DatasetEmbeddingsMismatchError = defineError('RAMPART_ERR_DATASET_EMBEDDINGS_MISMATCH', 'the embeddings file does not hold one numeric vector per dataset row');
export const DatasetBaselineInvalidError = defineError('RAMPART_ERR_DATASET_BASELINE_INVALID', 'the dataset baseline file cannot be read or is not a Rampart dataset baseline');
export const DatasetOutputUnsupportedError = defineError('RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED', '--write-clean / --quarantine are not supported for this dataset format');
export const DatasetNotFoundError = defineError('RAMPART_ERR_DATASET_NOT_FOUND', 'no dataset with this name is configured for ingestion (gateway `datasets:`)');
export const DatasetRecordInvalidError = defineError('RAMPART_ERR_DATASET_RECORD_INVALID', 'the ingestion request body is not a JSON object, a JSON array of objects, or JSON Lines of objects');
export const DatasetBatchTooLargeError = defineError('RAMPART_ERR_DATASET_BATCH_TOO_LARGE', 'the ingestion request holds more records than the dataset\'s maxRecords');
export const DatasetConfigInvalidError = defineError('RAMPART_ERR_DATASET_CONFIG_INVALID', 'a dataset of the gateway config cannot be served (baseline, label or store)');
export const DatasetRecordNotFoundError = defineError('RAMPART_ERR_DATASET_RECORD_NOT_FOUND', 'no quarantined record with this id in the dataset (already released, or never quarantined)');
