// PII and secret detection: pure detectors, the combined scanner and the stream scanner.
export { PII_TYPES, type PiiType, type PiiMatch, type Detector, type DetectorOptions } from './types.js';
export { PiiScanner, type PiiScanOptions } from './scanner.js';
export { PRIORITY, resolveOverlaps, applyReplacements, type ScanReport, type StreamReplacer } from './resolve.js';
export { PiiStream, DEFAULT_MAX_HOLD_BACK, type StreamOutput } from './stream.js';
export { PEM_CAP } from './pem.js';
export { JWT_MAX } from './jwt.js';
