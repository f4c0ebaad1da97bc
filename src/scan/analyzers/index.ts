// The one list of format analyzers. Every file is offered to each analyzer; all that recognise it
// run (polyglot files are analysed under every format they parse as). Add an analyzer by
// importing it and listing it here; ids are unique.
import type { Analyzer } from '../types.js';
import { pickleAnalyzer } from './pickle/analyzer.js';
import { zipAnalyzer } from './archive/zip.js';
import { tarAnalyzer } from './archive/tar.js';
import { bzip2Analyzer, gzipAnalyzer, xzAnalyzer, zlibAnalyzer } from './archive/compressed.js';
import { npyAnalyzer } from './numpy.js';
import { torchLegacyAnalyzer } from './torch-legacy.js';
import { safetensorsAnalyzer } from './safetensors.js';
import { ggufAnalyzer } from './gguf.js';
import { onnxAnalyzer } from './onnx.js';
import { kerasConfigAnalyzer } from './keras-config.js';
import { kerasH5Analyzer } from './keras-h5.js';
import { tfSavedModelAnalyzer } from './tf-savedmodel.js';
import { chatTemplateAnalyzer } from './chat-template.js';

const list: Analyzer[] = [
  zipAnalyzer,
  tarAnalyzer,
  gzipAnalyzer,
  zlibAnalyzer,
  bzip2Analyzer,
  xzAnalyzer,
  npyAnalyzer,
  torchLegacyAnalyzer,
  pickleAnalyzer, safetensorsAnalyzer, ggufAnalyzer, onnxAnalyzer, kerasConfigAnalyzer, kerasH5Analyzer, tfSavedModelAnalyzer, chatTemplateAnalyzer];

const ids = new Set<string>();
for (const a of list) {
  if (ids.has(a.id)) throw new Error(`duplicate analyzer id ${a.id}`);
  ids.add(a.id);
}

export const ANALYZERS: readonly Analyzer[] = Object.freeze(list);
