// Scans one stream of text deltas and releases text as soon as no match can still start inside it.
// Each detector says up to where its decisions are final (the first start whose outcome depends on
// text not yet seen); the release point is the smallest of those, moved back before any found match
// that straddles it. Everything released was scanned exactly as a whole-text scan would, so the
// concatenated output equals the whole-text redaction (stream.test.ts checks this on random splits).
// Held text is bounded: bounded patterns hold at most their own length, a PEM block at most
// PEM_CAP; if the held text ever exceeds `maxHoldBack` the stream fails closed (`overflow`).
import { PEM_CAP } from './pem.js';
import { applyReplacements, resolveOverlaps, type StreamReplacer } from './resolve.js';
import type { PiiScanner } from './scanner.js';
import type { PiiMatch } from './types.js';

/** Default bound on held-back text: a PEM block up to its cap plus a little before it. */
export const DEFAULT_MAX_HOLD_BACK = PEM_CAP + 1024;

export interface StreamOutput {
  /** Text safe to hand on, with matches replaced. */
  text: string;
  /** Matches inside the released text (offsets in the original stream). */
  matches: PiiMatch[];
  /** Held text went over maxHoldBack: nothing more is released (fail closed). */
  overflow?: boolean;
}

export class PiiStream {
  private buf = '';
  /** Stream offset of buf[0]. */
  private bufStart = 0;
  private released = 0;
  private total = 0;
  /** Per detector: stream offset from which its starts are not decided yet. */
  private readonly next: number[];
  private pending: PiiMatch[] = [];
  private failed = false;
  private ended = false;

  constructor(
    private readonly scanner: PiiScanner,
    private readonly replace: StreamReplacer,
    readonly maxHoldBack = DEFAULT_MAX_HOLD_BACK,
  ) {
    this.next = scanner.detectors.map(() => 0);
  }

  /** Characters received but not released yet. */
  get held(): number {
    return this.total - this.released;
  }

  push(delta: string): StreamOutput {
    if (this.failed || this.ended) return { text: '', matches: [], overflow: this.failed || undefined };
    this.buf += delta;
    this.total += delta.length;
    return this.step(false);
  }

  end(): StreamOutput {
    if (this.failed || this.ended) return { text: '', matches: [], overflow: this.failed || undefined };
    this.ended = true;
    return this.step(true);
  }

  private step(atEnd: boolean): StreamOutput {
    const sc = this.scanner;
    const dets = sc.detectors;
    const found: PiiMatch[] = [];
    let release = this.total;
    for (let k = 0; k < dets.length; k++) {
      const from = this.next[k]! - this.bufStart;
      const before = found.length;
      const u = dets[k]!.scan(this.buf, from, this.buf.length, atEnd, sc.detectorOptions, found);
      for (let j = before; j < found.length; j++) {
        const m = found[j]!;
        found[j] = { ...m, start: m.start + this.bufStart, end: m.end + this.bufStart };
      }
      this.next[k] = u + this.bufStart;
      if (this.next[k]! < release) release = this.next[k]!;
    }
    for (const m of found) if (sc.keep(m, this.buf, this.bufStart)) this.pending.push(m);
    // Never cut through a match already found.
    for (let moved = true; moved; ) {
      moved = false;
      for (const m of this.pending) {
        if (m.start < release && m.end > release) {
          release = m.start;
          moved = true;
        }
      }
    }
    // Keep a surrogate pair together.
    if (release > this.released && release < this.total) {
      const c = this.buf.charCodeAt(release - 1 - this.bufStart);
      if (c >= 0xd800 && c <= 0xdbff) release--;
    }
    if (this.total - release > this.maxHoldBack) {
      this.failed = true;
      this.buf = '';
      this.pending = [];
      return { text: '', matches: [], overflow: true };
    }
    let text = '';
    let matches: PiiMatch[] = [];
    if (release > this.released) {
      const now = this.pending.filter((m) => m.start < release);
      this.pending = this.pending.filter((m) => m.start >= release);
      matches = resolveOverlaps(now).matches;
      text = applyReplacements(this.buf, this.bufStart, this.released, release, matches, this.replace);
      this.released = release;
      const keepFrom = Math.max(this.bufStart, this.released - sc.lookbehind);
      this.buf = this.buf.slice(keepFrom - this.bufStart);
      this.bufStart = keepFrom;
    }
    return { text, matches };
  }
}
