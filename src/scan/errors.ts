// Coded errors of the model scanner. Most problems met while scanning become findings (a file that
// cannot be fully scanned carries an RMP-SCAN-* finding); these errors are for the caller's mistakes
// and for the internal signals analyzers use to stop early.
import { defineError } from '../core/errors.js';

export const ScanLimitError = defineError('RAMPART_ERR_SCAN_LIMIT', 'a scan limit (depth, size, entries, operations) was exceeded');
export const ScanTruncatedError = defineError('RAMPART_ERR_SCAN_TRUNCATED', 'a file ended before its format said it would');
export const ScanTimeoutError = defineError('RAMPART_ERR_SCAN_TIMEOUT', 'the time budget for scanning a file was spent');
export const ScanConfigInvalidError = defineError('RAMPART_ERR_SCAN_CONFIG_INVALID', 'the scan configuration (flags or rampart.scan.yaml) is invalid');
export const ScanBaselineInvalidError = defineError('RAMPART_ERR_SCAN_BASELINE_INVALID', 'the baseline file cannot be read or is not a Rampart scan baseline');
export const ScanRuleUnknownError = defineError('RAMPART_ERR_SCAN_RULE_UNKNOWN', 'an analyzer reported a finding under a rule id that is not registered');
