// Errors of the reporters (src/report).
import { defineError } from '../core/errors.js';

export const ReportFormatUnknownError = defineError(
  'RAMPART_ERR_REPORT_FORMAT_UNKNOWN',
  'the requested report format does not exist',
);
