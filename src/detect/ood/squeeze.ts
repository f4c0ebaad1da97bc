// Feature squeezing (W. Xu, D. Evans, Y. Qi, "Feature Squeezing: Detecting Adversarial Examples in
// Deep Neural Networks", NDSS 2018): an adversarial perturbation is tuned to the exact input, so
// coarsening the input (fewer bits per value, a median filter over an image) moves the model's
// output far more for an adversarial input than for a legitimate one. The score is the largest L1
// distance between the output probabilities on the input and on each squeezed copy.

/** A squeezer as configured: reduce the bit depth, or median-smooth an image. */
export type Squeezer = { kind: 'bit-depth'; bits: number } | { kind: 'median'; size: number };

/** Value range per feature the bit-depth squeezer quantises over (from the baseline or config). */
export interface SqueezeRange {
  min: ArrayLike<number>;
  max: ArrayLike<number>;
}

/**
 * Quantises each value to 2^bits levels over its feature's [min, max] (values outside are clipped
 * first). With bits = 1 every value becomes its feature's min or max.
 */
export function reduceBitDepth(row: ArrayLike<number>, bits: number, range: SqueezeRange): Float64Array {
  const levels = 2 ** bits - 1;
  const out = new Float64Array(row.length);
  for (let j = 0; j < row.length; j++) {
    const lo = range.min[j]!;
    const hi = range.max[j]!;
    const span = hi - lo;
    if (!(span > 0)) {
      out[j] = lo;
      continue;
    }
    const t = Math.min(1, Math.max(0, (row[j]! - lo) / span));
    out[j] = lo + (Math.round(t * levels) / levels) * span;
  }
  return out;
}

/**
 * Median filter over an h × w image (row-major, `channels` values per pixel, each channel filtered
 * separately), with a size × size window and edge values repeated past the border. For an even
 * size the window reaches one pixel further up/left than down/right (as SciPy's median_filter).
 */
export function medianFilter(row: ArrayLike<number>, h: number, w: number, size: number, channels = 1): Float64Array {
  const out = new Float64Array(row.length);
  const before = Math.floor(size / 2);
  const win = new Float64Array(size * size);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let k = 0;
        for (let dy = 0; dy < size; dy++) {
          const yy = Math.min(h - 1, Math.max(0, y - before + dy));
          for (let dx = 0; dx < size; dx++) {
            const xx = Math.min(w - 1, Math.max(0, x - before + dx));
            win[k++] = row[(yy * w + xx) * channels + c]!;
          }
        }
        const s = win.subarray(0, k).sort();
        out[(y * w + x) * channels + c] = k % 2 ? s[(k - 1) / 2]! : (s[k / 2 - 1]! + s[k / 2]!) / 2;
      }
    }
  }
  return out;
}

/** Applies one squeezer to one row. `image` is [h, w] (and channels) for the median filter. */
export function squeeze(row: ArrayLike<number>, s: Squeezer, range: SqueezeRange, image?: { h: number; w: number; channels?: number }): Float64Array {
  if (s.kind === 'bit-depth') return reduceBitDepth(row, s.bits, range);
  if (!image) throw new RangeError('median smoothing needs an image shape');
  return medianFilter(row, image.h, image.w, s.size, image.channels ?? 1);
}

/** L1 distance between two probability vectors (0..2). */
export function l1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s;
}

/**
 * Whether `v` looks like rows of class probabilities: finite values in [0, 1] whose rows of
 * `classes` values sum to 1 (± tol). Logits or scores fail this, and squeezing is then skipped.
 */
export function looksLikeProbabilities(v: ArrayLike<number>, classes: number, tol = 1e-3): boolean {
  if (classes < 2 || v.length === 0 || v.length % classes !== 0) return false;
  for (let r = 0; r < v.length; r += classes) {
    let s = 0;
    for (let i = r; i < r + classes; i++) {
      const p = v[i]!;
      if (!(p >= -tol && p <= 1 + tol)) return false;
      s += p;
    }
    if (Math.abs(s - 1) > tol * classes) return false;
  }
  return true;
}

/**
 * The squeezing score of one input: max over squeezers of L1(p(x), p(squeezed x)), given the
 * model's output on the input and on each squeezed copy (same order as the squeezers).
 */
export function squeezeScore(original: ArrayLike<number>, squeezed: readonly ArrayLike<number>[]): number {
  let best = 0;
  for (const s of squeezed) best = Math.max(best, l1(original, s));
  return best;
}
