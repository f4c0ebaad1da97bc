// The reporter contract: one small interface every output format implements, so the scan command
// (and later the dataset scanner) can render a ScanReport without knowing the format.
import type { Rule, ScanReport } from '../scan/types.js';

/** Looks up the documented metadata of a rule id (the scanner's rule registry). */
export type RuleLookup = (ruleId: string) => Rule | undefined;

export interface RenderOptions {
  /** ANSI colour (table only). Callers pass true only when writing to a terminal. */
  color: boolean;
  /** Rule metadata source; defaults to the scanner's rule registry (`getRule` of src/scan/rules.ts). */
  rules?: RuleLookup;
  /**
   * Directory that relative artifact URIs are computed against (SARIF only). Defaults to the
   * current working directory, which is the repository root in CI.
   */
  baseDir?: string;
}

export const REPORT_FORMATS = ['table', 'json', 'sarif'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface Reporter {
  readonly id: ReportFormat;
  /** Renders the whole report as one string, ending with a newline. */
  render(report: ScanReport, opts: RenderOptions): string;
}
