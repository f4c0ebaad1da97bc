// Number and row-list formatting shared by the in-memory and the chunked dataset scans, so both
// write the same finding messages and properties.

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
