// PRADA: detecting model extraction from the distribution of distances between a client's queries.
//
// Juuti, Szyller, Marchal, Asokan (2019) "PRADA: Protecting against DNN Model Stealing Attacks",
// IEEE EuroS&P, Algorithm 1. Benign clients query natural inputs whose minimum distances to their
// own earlier queries are close to normally distributed; extraction attacks synthesise queries
// from a few seeds by small, regular steps (Jacobian augmentation, FGSM-like perturbations), which
// pile distances up at a few values. Per class c the detector keeps a growing set G_c of earlier
// queries and a threshold T_c; for a new query x of class c it takes d = min‖x − g‖₂ over g ∈ G_c,
// adds d to the distance set D, and adds x to G_c (raising T_c to mean − std of the distances that
// grew G_c) when d > T_c. Once D holds enough distances, a Shapiro–Wilk test runs on it and the
// detector fires when W < δ.
//
// Bounded memory (departures from the paper, which keeps everything):
// - G_c holds at most `maxPointsPerClass` points; when full, a new point replaces a random one
//   (reservoir sampling over the points that qualified). Evicting a point can only make later
//   minimum distances larger, never smaller, so a repeat of an evicted query looks new.
// - D holds the `maxDistances` most recent distances (a sliding window: an old benign history
//   cannot hide a new attack for long, and a test costs O(maxDistances)).
// - Exact repeats of any of the client's last `maxRecent` queries (by a 32-bit fingerprint of the
//   input) and queries within `repeatEpsilon` of the growing set are not added to D: re-sending an
//   input teaches an attacker nothing, and a legitimate client that replays its inputs would
//   otherwise add copies of the same distances (ties that make D look non-normal).
// - Inputs with more than `maxDimensions` features are reduced by feature hashing (each feature
//   added with a random sign to one of `maxDimensions` buckets), which preserves L2 distances in
//   expectation (Weinberger et al. 2009).
//
// The state is plain data (serialisable with `encodePradaState`), so the guard keeps it in the store.
import { shapiroWilk, SHAPIRO_WILK_MAX_N, type ShapiroWilkResult } from './shapiro-wilk.js';

export interface PradaOptions {
  /** Fire when the Shapiro–Wilk W of the distance set falls below this (the paper's δ). */
  delta: number;
  /** Distances needed before the test runs (the paper uses 100). */
  minDistances: number;
  /** Most recent distances kept and tested. */
  maxDistances: number;
  /** Growing-set size limit per class. */
  maxPointsPerClass: number;
  /** Distances at or below this count as repeats and are skipped. */
  repeatEpsilon: number;
  /** Inputs longer than this are feature-hashed down to it. */
  maxDimensions: number;
  /** Fingerprints of this many recent queries are kept to skip exact repeats. */
  maxRecent: number;
  /**
   * Run the test on every n-th new distance only (1 = every query, as in the paper). The test is
   * most of the cost of a query (≈ 75 µs at 1,000 distances); detection comes at most n − 1
   * queries later.
   */
  testEvery: number;
}

export const DEFAULT_PRADA_OPTIONS: PradaOptions = {
  delta: 0.9,
  minDistances: 100,
  maxDistances: 1000,
  maxPointsPerClass: 200,
  repeatEpsilon: 1e-6,
  maxDimensions: 1024,
  maxRecent: 2000,
  testEvery: 10,
};

export interface PradaClassState {
  /** Points of the growing set, each `dims` long, concatenated. */
  points: number[][];
  /** Distances that grew the set (for the threshold). */
  growDistances: number[];
  threshold: number;
  /** How many points ever qualified for the set (reservoir sampling). */
  qualified: number;
}

export interface PradaState {
  dims: number;
  classes: Record<string, PradaClassState>;
  /** Recent minimum distances, oldest first. */
  distances: number[];
  /** Queries observed. */
  queries: number;
  /** Fingerprints of recent queries, oldest first. */
  recent: number[];
  /** New distances since the last test (not persisted: a restart tests at the next distance). */
  sinceTest?: number;
}

export interface PradaObservation {
  /** Minimum distance to the growing set of the query's class; null for the first of its class or a repeat. */
  distance: number | null;
  /** The test on the distance set, when it ran. */
  test: ShapiroWilkResult | null;
  fired: boolean;
}

export function newPradaState(): PradaState {
  return { dims: 0, classes: {}, distances: [], queries: 0, recent: [] };
}

/** Reduces a vector to at most `max` dimensions by signed feature hashing (identity when short enough). */
export function reduceDimensions(x: ArrayLike<number>, max: number): number[] {
  if (x.length <= max) return Array.from(x);
  const out = new Array<number>(max).fill(0);
  for (let i = 0; i < x.length; i++) {
    // A fixed integer hash of the index (no state): bucket and sign.
    let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const bucket = (h >>> 1) % max;
    out[bucket] = out[bucket]! + (h & 1 ? x[i]! : -x[i]!);
  }
  return out;
}

/** FNV-1a over the float32 values: equal inputs (as the model sees them) share a fingerprint. */
export function fingerprint(x: ArrayLike<number>): number {
  const f = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) f[i] = x[i]!;
  const bytes = new Uint8Array(f.buffer);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function dist2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

function meanStd(v: readonly number[]): { mean: number; std: number } {
  let mean = 0;
  for (const x of v) mean += x;
  mean /= v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / v.length) };
}

/**
 * Feeds one query (its input and the class the model predicted) into the detector, mutating
 * `state`. `rand` drives reservoir replacement only (pass a seeded generator in tests).
 *
 * @example
 * const s = newPradaState();
 * for (const { x, label } of queries) if (pradaObserve(s, x, label, DEFAULT_PRADA_OPTIONS).fired) alarm();
 */
export function pradaObserve(state: PradaState, input: ArrayLike<number>, predictedClass: number, opts: PradaOptions, rand: () => number = Math.random): PradaObservation {
  const x = reduceDimensions(input, opts.maxDimensions);
  if (state.dims !== x.length) {
    // A different input size (another model version): distances across sizes mean nothing.
    state.dims = x.length;
    state.classes = {};
    state.distances = [];
    state.recent = [];
  }
  state.queries++;
  const fp = fingerprint(x);
  if (state.recent.includes(fp)) return { distance: null, test: null, fired: false };
  state.recent.push(fp);
  if (state.recent.length > opts.maxRecent) state.recent.splice(0, state.recent.length - opts.maxRecent);
  const key = String(predictedClass);
  const cls = state.classes[key];
  if (!cls) {
    state.classes[key] = { points: [x], growDistances: [], threshold: 0, qualified: 1 };
    return { distance: null, test: null, fired: false };
  }
  let best = Infinity;
  for (const p of cls.points) {
    const d = dist2(x, p);
    if (d < best) best = d;
  }
  const d = Math.sqrt(best);
  if (d <= opts.repeatEpsilon) return { distance: null, test: null, fired: false };
  state.distances.push(d);
  const cap = Math.min(opts.maxDistances, SHAPIRO_WILK_MAX_N);
  if (state.distances.length > cap) state.distances.splice(0, state.distances.length - cap);
  if (d > cls.threshold) {
    cls.qualified++;
    if (cls.points.length < opts.maxPointsPerClass) cls.points.push(x);
    else {
      const j = Math.floor(rand() * cls.qualified);
      if (j < cls.points.length) cls.points[j] = x;
    }
    cls.growDistances.push(d);
    if (cls.growDistances.length > opts.maxPointsPerClass) cls.growDistances.shift();
    const { mean, std } = meanStd(cls.growDistances);
    cls.threshold = Math.max(cls.threshold, mean - std);
  }
  if (state.distances.length < Math.max(3, opts.minDistances)) return { distance: d, test: null, fired: false };
  state.sinceTest = (state.sinceTest ?? 0) + 1;
  if (state.sinceTest < opts.testEvery && state.distances.length > opts.minDistances) return { distance: d, test: null, fired: false };
  state.sinceTest = 0;
  const test = shapiroWilk(state.distances);
  return { distance: d, test, fired: test.w < opts.delta };
}

/** Starts a fresh distance window (after the detector fired), keeping the growing sets. */
export function resetPradaDistances(state: PradaState): void {
  state.distances = [];
}

/** Serialises the state as compact JSON (points and distances as base64 float32). */
export function encodePradaState(state: PradaState): string {
  const f32 = (v: readonly number[]) => Buffer.from(Float32Array.from(v).buffer).toString('base64');
  const classes: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(state.classes)) {
    classes[k] = { p: f32(c.points.flat()), g: f32(c.growDistances), t: c.threshold, q: c.qualified };
  }
  const recent = Buffer.from(Uint32Array.from(state.recent).buffer).toString('base64');
  return JSON.stringify({ v: 1, dims: state.dims, n: state.queries, d: f32(state.distances), r: recent, c: classes });
}

/** Parses `encodePradaState` output; returns null when the text is not a valid state. */
export function decodePradaState(text: string): PradaState | null {
  try {
    const raw = JSON.parse(text) as { v: number; dims: number; n: number; d: string; r: string; c: Record<string, { p: string; g: string; t: number; q: number }> };
    if (raw.v !== 1 || !Number.isInteger(raw.dims) || raw.dims < 0 || !Number.isInteger(raw.n)) return null;
    const unf32 = (b: string) => {
      if (typeof b !== 'string') throw new Error('bad field');
      const buf = Buffer.from(b, 'base64');
      if (buf.length % 4) throw new Error('bad length');
      const out = Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
      if (!out.every(Number.isFinite)) throw new Error('bad value');
      return out;
    };
    const classes: Record<string, PradaClassState> = {};
    for (const [k, c] of Object.entries(raw.c ?? {})) {
      const flat = unf32(c.p);
      if (raw.dims === 0 || flat.length % raw.dims) return null;
      const points: number[][] = [];
      for (let i = 0; i < flat.length; i += raw.dims) points.push(flat.slice(i, i + raw.dims));
      if (!Number.isFinite(c.t) || !Number.isInteger(c.q)) return null;
      classes[k] = { points, growDistances: unf32(c.g), threshold: c.t, qualified: c.q };
    }
    if (typeof raw.r !== 'string') return null;
    const rb = Buffer.from(raw.r, 'base64');
    if (rb.length % 4) return null;
    const recent = Array.from(new Uint32Array(rb.buffer.slice(rb.byteOffset, rb.byteOffset + rb.length)));
    return { dims: raw.dims, queries: raw.n, distances: unf32(raw.d), recent, classes };
  } catch {
    return null;
  }
}
