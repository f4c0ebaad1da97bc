// Coded errors of the extraction guard (src/guards/extraction). Documented in docs/errors.md under
// "Inference guards". A check that throws becomes a guard error verdict with its onError effect.
import { defineError } from '../../core/errors.js';

export const ExtractionUnreadableError = defineError(
  'RAMPART_ERR_EXTRACTION_UNREADABLE',
  'the extraction guard could not read the input tensor or the predicted classes of a KServe v2 call',
);
