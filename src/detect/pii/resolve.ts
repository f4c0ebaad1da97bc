// Overlap resolution and redaction, shared by the whole-text scanner and the stream scanner so both
// give the same result by construction.
import type { PiiMatch, PiiType } from './types.js';

/** Replacement text for a match (gets the matched value), or null to leave it in place. */
export type StreamReplacer = (m: PiiMatch, value: string) => string | null;

/** Higher wins when candidates overlap. Secrets first, then checksummed identifiers, then contact data. */
export const PRIORITY: Record<PiiType, number> = {
  'private-key': 100,
  jwt: 95,
  'anthropic-key': 92,
  'openai-key': 90,
  'aws-access-key-id': 90,
  'github-token': 90,
  'gitlab-token': 90,
  'slack-token': 90,
  'stripe-key': 90,
  'google-api-key': 90,
  'huggingface-token': 90,
  'npm-token': 90,
  'twilio-key': 88,
  'sendgrid-key': 90,
  'azure-storage-key': 90,
  'aws-secret-key': 85,
  'generic-secret': 50,
  card: 70,
  iban: 70,
  'cn-rid': 65,
  'it-cf': 65,
  'es-dni': 65,
  'fr-nir': 62,
  'uk-nino': 62,
  'us-ssn': 60,
  'nl-bsn': 60,
  'br-cpf': 58,
  'in-aadhaar': 57,
  'se-pnr': 56,
  email: 40,
  phone: 30,
  ip: 20,
};

export interface ScanReport {
  /** Matches kept after overlap resolution, by start. */
  matches: PiiMatch[];
  /** Candidates that lost to an overlapping match of higher priority. */
  suppressed: PiiMatch[];
}

function rank(a: PiiMatch, b: PiiMatch): number {
  return (
    PRIORITY[b.type] - PRIORITY[a.type] ||
    b.confidence - a.confidence ||
    b.end - b.start - (a.end - a.start) ||
    a.start - b.start ||
    (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)
  );
}

/**
 * Resolves overlaps: candidates are grouped into clusters of transitively overlapping spans; in each
 * cluster the highest-ranked candidates that do not overlap an accepted one are kept (rank: priority,
 * then confidence, then length, then position).
 */
/** Clusters larger than this are resolved left to right instead of by priority (bounded cost). */
export const MAX_CLUSTER = 64;

export function resolveOverlaps(cands: PiiMatch[]): ScanReport {
  const sorted = [...cands].sort((a, b) => a.start - b.start || b.end - a.end);
  const matches: PiiMatch[] = [];
  const suppressed: PiiMatch[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    let reach = sorted[i]!.end;
    while (j < sorted.length && sorted[j]!.start < reach) {
      reach = Math.max(reach, sorted[j]!.end);
      j++;
    }
    if (j === i + 1) matches.push(sorted[i]!);
    else if (j - i > MAX_CLUSTER) {
      // Only crafted input chains this many overlapping candidates: resolve left to right (linear).
      let last = -1;
      for (let k = i; k < j; k++) {
        const c = sorted[k]!;
        if (c.start >= last) {
          matches.push(c);
          last = c.end;
        } else suppressed.push(c);
      }
    } else {
      const cluster = sorted.slice(i, j).sort(rank);
      const kept: PiiMatch[] = [];
      for (const c of cluster) {
        const dup = kept.some((k) => k.start === c.start && k.end === c.end && k.type === c.type);
        if (!dup && kept.every((k) => k.end <= c.start || c.end <= k.start)) kept.push(c);
        else suppressed.push(c);
      }
      kept.sort((a, b) => a.start - b.start);
      matches.push(...kept);
    }
    i = j;
  }
  return { matches, suppressed };
}

/** Text of [from, to) (stream offsets; `text` starts at `offset`) with the matches replaced. */
export function applyReplacements(
  text: string,
  offset: number,
  from: number,
  to: number,
  matches: readonly PiiMatch[],
  replace: StreamReplacer,
): string {
  let out = '';
  let pos = from;
  for (const m of matches) {
    const r = replace(m, text.slice(m.start - offset, m.end - offset));
    if (r === null) continue;
    out += text.slice(pos - offset, m.start - offset) + r;
    pos = m.end;
  }
  return out + text.slice(pos - offset, to - offset);
}
