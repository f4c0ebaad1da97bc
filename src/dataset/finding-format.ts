// Number and row-list formatting shared by the in-memory and the chunked dataset scans, so both
// write the same finding messages and properties.
import type { SourceStats } from '../detect/dataset/provenance.js';

/** Rounded to three decimals (finding properties). */
export function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** A share as a percentage with three significant digits. */
export function pct(v: number): string {
  return `${Number((100 * v).toPrecision(3))}%`;
}

/** Row numbers for a message: the first five, then an ellipsis. */
export function fmtRows(rows: number[]): string {
  return rows.length > 5 ? `${rows.slice(0, 5).join(', ')}, …` : rows.join(', ');
}

/** Message and properties of an RMP-DATA-050 finding (a source whose rows are flagged far more often). */
export function sourceFinding(s: SourceStats): { message: string; properties: Record<string, unknown> } {
  return {
    message: `source ${JSON.stringify(s.source)}: ${s.flagged} of ${s.rows} rows flagged (${(100 * s.rate).toFixed(1)}% vs ${(100 * s.restRate).toFixed(1)}% elsewhere, z = ${round(s.z)})`,
    properties: {
      source: s.source,
      rows: s.rows,
      flagged: s.flagged,
      rate: round(s.rate),
      restRate: round(s.restRate),
      score: round(s.z),
      labelDivergence: round(s.labelJs),
    },
  };
}
