// Provenance: per-source statistics and a score per source, so one bad supplier stands out among
// good ones. For each source: its share of flagged rows against the rest (a two-proportion z-test)
// and the Jensen–Shannon divergence of its label distribution from the rest's. The score is the
// z statistic; a source is suspicious when z ≥ `minZ`, its flagged rate is at least `minRatio`
// times the others', and it has at least `minRows` rows. O(n + sources·classes).

export interface SourceStats {
  source: string;
  rows: number;
  flagged: number;
  rate: number;
  restRate: number;
  z: number;
  labelJs: number;
  suspicious: boolean;
}

export interface ProvenanceOptions {
  minZ?: number;
  minRatio?: number;
  minRows?: number;
}

export function sourceStats(sources: readonly string[], flagged: Uint8Array, y: Int32Array | undefined, c: number, o: ProvenanceOptions = {}): SourceStats[] {
  const minZ = o.minZ ?? 4;
  const minRatio = o.minRatio ?? 2;
  const minRows = o.minRows ?? 20;
  const n = sources.length;
  const bySource = new Map<string, { rows: number; flagged: number; labels: Float64Array }>();
  const allLabels = new Float64Array(Math.max(1, c));
  let totalFlagged = 0;
  for (let i = 0; i < n; i++) {
    const s = sources[i]!;
    let e = bySource.get(s);
    if (!e) bySource.set(s, (e = { rows: 0, flagged: 0, labels: new Float64Array(Math.max(1, c)) }));
    e.rows++;
    if (flagged[i]) {
      e.flagged++;
      totalFlagged++;
    }
    if (y && y[i]! >= 0) {
      e.labels[y[i]!]!++;
      allLabels[y[i]!]!++;
    }
  }
  const out: SourceStats[] = [];
  for (const [source, e] of bySource) {
    const restRows = n - e.rows;
    const restFlagged = totalFlagged - e.flagged;
    const rate = e.flagged / e.rows;
    const restRate = restRows > 0 ? restFlagged / restRows : 0;
    const pooled = totalFlagged / n;
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / e.rows + (restRows > 0 ? 1 / restRows : 0)));
    const z = se > 0 ? (rate - restRate) / se : 0;
    const rest = allLabels.map((v, a) => v - e.labels[a]!);
    const labelJs = y ? jsDivergence(e.labels, rest) : 0;
    const suspicious = restRows > 0 && e.rows >= minRows && z >= minZ && rate >= minRatio * Math.max(restRate, 1e-9);
    out.push({ source, rows: e.rows, flagged: e.flagged, rate, restRate, z, labelJs, suspicious });
  }
  out.sort((a, b) => b.z - a.z || a.source.localeCompare(b.source));
  return out;
}

/** Jensen–Shannon divergence (base 2, in [0, 1]) of two count vectors. */
export function jsDivergence(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  if (sa === 0 || sb === 0) return 0;
  let js = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]! / sa;
    const q = b[i]! / sb;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return js;
}
