// The one registry of reporters. Add a format by writing a module that exports a Reporter and
// listing it here; ids are unique.
import { jsonReporter } from './json.js';
import { ReportFormatUnknownError } from './errors.js';
import { sarifReporter } from './sarif.js';
import { tableReporter } from './table.js';
import { REPORT_FORMATS, type ReportFormat, type Reporter } from './types.js';

export type { RenderOptions, ReportFormat, Reporter, RuleLookup } from './types.js';
export { REPORT_FORMATS } from './types.js';

const reporters = new Map<string, Reporter>();
for (const r of [tableReporter, jsonReporter, sarifReporter]) {
  if (reporters.has(r.id)) throw new Error(`duplicate reporter ${r.id}`);
  reporters.set(r.id, r);
}

/** Returns the reporter for a format, or throws RAMPART_ERR_REPORT_FORMAT_UNKNOWN. */
export function getReporter(format: ReportFormat | string): Reporter {
  const r = reporters.get(format);
  if (!r) {
    throw new ReportFormatUnknownError(`unknown report format "${format}" (expected one of ${REPORT_FORMATS.join(', ')})`, {
      details: { format },
    });
  }
  return r;
}

/**
 * Whether a stream should get ANSI colour: a terminal, and neither NO_COLOR nor TERM=dumb set
 * (https://no-color.org). FORCE_COLOR turns it on for CI logs that render ANSI.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}
