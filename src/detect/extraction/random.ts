// Seeded random numbers for the extraction detectors (reproducible hyperplanes, reservoir choices),
// on the project's one PRNG (src/detect/random.ts).
import { mulberry32 } from '../random.js';

/** mulberry32: floats in [0, 1). */
export const seededUniform: (seed: number) => () => number = mulberry32;

/** Standard normal draws (Box–Muller on mulberry32). */
export function seededGaussian(seed: number): () => number {
  const u = seededUniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}
