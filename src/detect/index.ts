// Pure detection algorithms shared by the monitor, guards and scanner: no I/O, arrays and numbers.
export { Ewma, psi, jensenShannon, chiSquare, ksTwoSample, wasserstein1, histogram, gammaQ, logGamma, meanOf, sdOf } from './stats.js';
export { SeasonalBaseline, DEFAULT_SEASONAL, hourOfWeek, isSpike, type SeasonalParams, type SpikeParams, type Expectation } from './seasonal.js';
export { SlidingCounter, networkPrefix } from './sliding.js';
export { mulberry32, normal, poisson } from './random.js';
