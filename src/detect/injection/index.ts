// Prompt-injection and jailbreak detection (issue #6): normalisation, decoding, structural signals
// and the shipped classifier. Pure functions; the guard lives in src/guards/injection/.
export { detectInjection, shippedModel, type InjectionResult, type InjectionFinding, type DetectOptions } from './detector.js';
export { computeSignals, SIGNALS, DENSE_NAMES, type Signal } from './signals.js';
export { normalize, deleet, rot13, type Normalized } from './normalize.js';
export { decodeSegments, type DecodedSegment } from './decode.js';
export { loadModel, saveModel, type InjectionModel, type InjectionModelFile } from './model.js';
export { trainInjectionModel, buildShippedModel, type TrainExample, type TrainOptions } from './train.js';
export { generateCorpus, CORPUS_FAMILIES, type CorpusExample, type Split } from './corpus.js';
export { WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';
export { evaluateScores, type EvalFigures, type GroupFigures } from './evaluate.js';
