// Input-space coverage: how much of the input space one client explores. The space is cut into
// cells by `bits` random hyperplanes through a centre point (locality-sensitive hashing with
// random projections, Charikar 2002): a query's cell is the pattern of signs of its projections
// on `bits` seeded Gaussian directions, after subtracting a centre: by default each input's own
// mean (scale-free, and right for inputs that are all positive, such as pixels, which would
// otherwise all fall on the same side of most hyperplanes through the origin), or a fixed point
// such as the mean of legitimate inputs. Legitimate clients send natural inputs, which fall into the comparatively
// few cells the data occupies; an extraction attack that synthesises inputs to map the decision
// boundaries keeps entering new cells. The signal is the number of distinct cells a client
// visited, compared with a limit set from legitimate clients (bench/extraction-eval.mjs measures
// both). Pure; the visited set is plain data.
import { seededGaussian } from './random.js';

export interface CoverageGrid {
  dims: number;
  bits: number;
  /** bits × dims directions, row-major. */
  directions: Float64Array;
  centre: Float64Array;
  /** Subtract each input's own mean instead of `centre`. */
  rowMean: boolean;
}

/**
 * Builds the hyperplanes for `dims` inputs. `centre`: 'row-mean' (each input's own mean), a fixed
 * point (for example the mean of legitimate inputs), or the origin when absent.
 */
export function coverageGrid(dims: number, bits: number, seed: number, centre?: ArrayLike<number> | 'row-mean'): CoverageGrid {
  if (!(bits >= 1 && bits <= 31)) throw new RangeError('coverage bits must be 1..31');
  const g = seededGaussian(seed);
  const directions = new Float64Array(bits * dims);
  for (let i = 0; i < directions.length; i++) directions[i] = g();
  const c = new Float64Array(dims);
  if (centre && centre !== 'row-mean') for (let i = 0; i < dims; i++) c[i] = centre[i] ?? 0;
  return { dims, bits, directions, centre: c, rowMean: centre === 'row-mean' };
}

/** The cell of one input: a `bits`-bit integer. Inputs of another length yield -1. */
export function coverageCell(grid: CoverageGrid, x: ArrayLike<number>): number {
  if (x.length !== grid.dims) return -1;
  let mean = 0;
  if (grid.rowMean) {
    for (let i = 0; i < grid.dims; i++) mean += x[i]!;
    mean /= grid.dims;
  }
  let cell = 0;
  for (let b = 0; b < grid.bits; b++) {
    let s = 0;
    const row = b * grid.dims;
    for (let i = 0; i < grid.dims; i++) s += grid.directions[row + i]! * (x[i]! - grid.centre[i]! - mean);
    if (s > 0) cell |= 1 << b;
  }
  return cell;
}

export interface CoverageState {
  /** Distinct cells visited, in first-visit order, at most `cap` of them. */
  cells: number[];
}

/**
 * Records a visit; returns the number of distinct cells visited so far. The set stops growing at
 * `cap` (a client over the cap has already fired the signal).
 */
export function coverageVisit(state: CoverageState, cell: number, cap: number): number {
  if (cell >= 0 && state.cells.length < cap && !state.cells.includes(cell)) state.cells.push(cell);
  return state.cells.length;
}
