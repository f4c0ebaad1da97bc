// State the ingest guard keeps about a dataset's stream of accepted records, in memory and per
// process: a bounded memory of recent records (to tell repeats and conflicting-label repeats,
// RMP-DATA-010/011) and a sliding window of recent labels (to tell a drift of the class balance,
// RMP-DATA-007). Nothing here survives a restart or is shared between gateway processes.
import { createHash } from 'node:crypto';
import { balanceShift } from '../detect/dataset/column-profile.js';

/**
 * SHA-256 (first 128 bits, hex) of a record's features in canonical form: every field except the
 * label, keys sorted, values as JSON. The same features in another key order hash the same.
 */
export function featureHash(record: Record<string, unknown>, label: string | undefined): string {
  const keys = Object.keys(record)
    .filter((k) => k !== label)
    .sort();
  const h = createHash('sha256');
  for (const k of keys) h.update(JSON.stringify(k)).update(':').update(JSON.stringify(record[k]) ?? 'undefined').update(',');
  return h.digest('hex').slice(0, 32);
}

/** A fixed-size memory of feature hashes → label, evicting the least recently seen. */
export class RecentRecords {
  private readonly seen = new Map<string, string>();
  constructor(readonly capacity: number) {}

  /** The label remembered for these features (undefined: not seen recently). */
  get(hash: string): string | undefined {
    return this.seen.get(hash);
  }

  /** Remembers (or refreshes) a record; evicts the oldest entry beyond the capacity. */
  remember(hash: string, label: string): void {
    this.seen.delete(hash);
    this.seen.set(hash, label);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface BalanceDrift {
  /** Class whose share moved most, and its shares in the window and the baseline. */
  label: string;
  current: number;
  baseline: number;
  pValue: number;
  window: number;
}

/**
 * The last `window` accepted labels and their counts, compared with the baseline class balance by
 * the batch rule's chi-square test (RMP-DATA-005: p < pValue and a share moved by ≥ minChange)
 * once at least `minCount` labels are in the window. After a drift is reported the next report
 * waits for `minCount` more labels, so a flood yields a few findings, not one per record.
 */
export class LabelWindow {
  private readonly ring: string[] = [];
  private next = 0;
  private readonly counts: Record<string, number> = {};
  private quietFor = 0;

  constructor(
    private readonly baseline: Record<string, number>,
    private readonly o: { window: number; minCount: number; pValue: number; minChange: number },
  ) {}

  /** Adds an accepted label; returns the drift this label completes, if one is due. */
  add(label: string): BalanceDrift | undefined {
    if (this.ring.length < this.o.window) this.ring.push(label);
    else {
      const old = this.ring[this.next]!;
      this.counts[old]! -= 1;
      if (this.counts[old] === 0) delete this.counts[old];
      this.ring[this.next] = label;
      this.next = (this.next + 1) % this.o.window;
    }
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    if (this.quietFor > 0) this.quietFor--;
    return this.quietFor === 0 ? this.test() : undefined;
  }

  private test(): BalanceDrift | undefined {
    if (this.ring.length < this.o.minCount) return undefined;
    const d = this.shift(this.counts);
    if (d) this.quietFor = this.o.minCount;
    return d;
  }

  private shift(counts: Record<string, number>): BalanceDrift | undefined {
    const s = balanceShift(this.baseline, counts);
    if (!(s.pValue < this.o.pValue && s.maxAbsChange >= this.o.minChange)) return undefined;
    let top = s.classes[0]!;
    for (const c of s.classes) if (Math.abs(c.current - c.baseline) > Math.abs(top.current - top.baseline)) top = c;
    return { label: top.label, current: top.current, baseline: top.baseline, pValue: s.pValue, window: Object.values(counts).reduce((a, b) => a + b, 0) };
  }
}
