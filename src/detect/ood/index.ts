// Out-of-distribution and adversarial-input scores for tensor models: pure functions over arrays,
// shared by the `tensor` guard (src/guards/tensor/), `rampart baseline` and the evaluation in bench/.
export { quantile, quantileSorted, upperTailP, scoreSample } from './quantile.js';
export { fitRobust, robustZ, robustZScore, type RobustStats } from './robust-z.js';
export { fitLedoitWolf, invertSpd, mahalanobis, type GaussianModel } from './mahalanobis.js';
export { reduceBitDepth, medianFilter, squeeze, l1, looksLikeProbabilities, squeezeScore, type Squeezer, type SqueezeRange } from './squeeze.js';
