// Default resource limits of a scan. Every limit, when hit, ends the affected part of the scan with
// an RMP-SCAN-003 finding and marks the file incomplete; none of them makes a file look clean.
import type { ScanLimits } from './types.js';

export const DEFAULT_LIMITS: Readonly<ScanLimits> = Object.freeze({
  maxDepth: 8,
  maxDecompressedBytes: 512 * 1024 * 1024,
  maxTotalDecompressedBytes: 2 * 1024 * 1024 * 1024,
  maxArchiveEntries: 100_000,
  maxHeaderBytes: 256 * 1024 * 1024,
  maxPickleOps: 20_000_000,
  timeoutMs: 120_000,
});
