// Optional second stage of the prompt-injection guard: a transformer sequence classifier from a
// local directory, run with onnxruntime-node (an optional dependency, imported only when this stage
// is configured). Directory layout (docs/guards.md):
//   model.onnx              inputs input_ids [+ attention_mask] [+ token_type_ids] (int64, [1, n]);
//                           first output [1, labels]: logits (default) or probabilities
//   vocab.txt | tokenizer.json   BERT WordPiece vocabulary
//   config.json             optional; `id2label` names the labels (Hugging Face layout)
//   tokenizer_config.json   optional; `do_lower_case`
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { WordPieceTokenizer } from '../../detect/injection/wordpiece.js';
import { InjectionOnnxModelError, InjectionOnnxUnavailableError } from './errors.js';

export interface OnnxStageOptions {
  dir: string;
  maxLength: number;
  maxWindows: number;
  output: 'logits' | 'probabilities';
  /** Label names counted as an injection (case-insensitive), looked up in config.json id2label. */
  positiveLabels: string[];
  /** Index of the injection label when config.json has no id2label. */
  positiveIndex: number;
  threads: number;
}

export interface OnnxStage {
  /** Probability that the text is an injection (highest over its token windows). */
  score(text: string): Promise<number>;
  close(): Promise<void>;
}

// The small part of onnxruntime-node's API used here (kept local so the package stays optional).
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: { create(path: string, opts: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => OrtTensor;
}

const ORT_PACKAGE = 'onnxruntime-node';

async function importOrt(pkg: string): Promise<OrtModule> {
  try {
    const m = (await import(pkg)) as OrtModule & { default?: OrtModule };
    return m.InferenceSession ? m : (m.default as OrtModule);
  } catch (e) {
    throw new InjectionOnnxUnavailableError(
      `options.onnx needs the optional package ${pkg}; install it with ONNXRUNTIME_NODE_INSTALL=skip set (its own download step fails offline): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InjectionOnnxModelError(`${path} is not valid JSON`, { cause: e });
  }
}

/**
 * Loads the tokenizer, the label mapping and the ONNX session of a model directory. `runtime` is
 * the package to import (tests name a missing one to see the coded error).
 */
export async function loadOnnxStage(opts: OnnxStageOptions, baseDir: string, runtime = ORT_PACKAGE): Promise<OnnxStage> {
  const dir = isAbsolute(opts.dir) ? opts.dir : resolve(baseDir, opts.dir);
  const modelPath = join(dir, 'model.onnx');
  if (!existsSync(modelPath)) throw new InjectionOnnxModelError(`no model.onnx in the prompt-injection model directory ${opts.dir}`);
  let lowerCase: boolean | undefined;
  if (existsSync(join(dir, 'tokenizer_config.json'))) {
    const tc = readJson(join(dir, 'tokenizer_config.json')) as { do_lower_case?: unknown };
    if (typeof tc?.do_lower_case === 'boolean') lowerCase = tc.do_lower_case;
  }
  let tokenizer: WordPieceTokenizer;
  try {
    const wpOpts = lowerCase === undefined ? {} : { lowerCase };
    if (existsSync(join(dir, 'vocab.txt'))) tokenizer = WordPieceTokenizer.fromVocabTxt(readFileSync(join(dir, 'vocab.txt'), 'utf8'), wpOpts);
    else if (existsSync(join(dir, 'tokenizer.json'))) tokenizer = WordPieceTokenizer.fromTokenizerJson(readJson(join(dir, 'tokenizer.json')), wpOpts);
    else throw new Error('no vocab.txt or tokenizer.json');
  } catch (e) {
    if (e instanceof InjectionOnnxModelError) throw e;
    throw new InjectionOnnxModelError(`prompt-injection model directory ${opts.dir}: ${(e as Error).message}`, { cause: e });
  }
  let positive = opts.positiveIndex;
  let labels = 0;
  if (existsSync(join(dir, 'config.json'))) {
    const cfg = readJson(join(dir, 'config.json')) as { id2label?: Record<string, unknown> };
    if (cfg?.id2label && typeof cfg.id2label === 'object') {
      const wanted = new Set(opts.positiveLabels.map((l) => l.toLowerCase()));
      const hit = Object.entries(cfg.id2label).find(([, name]) => typeof name === 'string' && wanted.has(name.toLowerCase()));
      if (!hit) throw new InjectionOnnxModelError(`config.json id2label has none of the labels ${opts.positiveLabels.join(', ')} (options.onnx.positiveLabels)`);
      positive = Number(hit[0]);
      labels = Object.keys(cfg.id2label).length;
    }
  }
  const ort = await importOrt(runtime);
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new InjectionOnnxModelError(`onnxruntime could not load ${opts.dir}/model.onnx: ${(e as Error).message}`, { cause: e });
  }
  const known = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
  const unknown = session.inputNames.filter((n) => !known.has(n));
  if (!session.inputNames.includes('input_ids') || unknown.length > 0) {
    await session.release();
    throw new InjectionOnnxModelError(`model.onnx inputs must be input_ids [, attention_mask, token_type_ids]; it has ${session.inputNames.join(', ')}`);
  }
  const outName = session.outputNames[0] as string;

  const scoreWindow = async (ids: number[]): Promise<number> => {
    const n = ids.length;
    const feeds: Record<string, OrtTensor> = {};
    for (const name of session.inputNames) {
      const data = new BigInt64Array(n);
      if (name === 'input_ids') ids.forEach((v, i) => (data[i] = BigInt(v)));
      else if (name === 'attention_mask') data.fill(1n);
      feeds[name] = new ort.Tensor('int64', data, [1, n]);
    }
    const out = (await session.run(feeds))[outName];
    const values = Array.from(out?.data as ArrayLike<number>, Number);
    if (values.length < 2 || (labels && values.length !== labels) || positive >= values.length) {
      throw new InjectionOnnxModelError(`model.onnx output ${outName} has ${values.length} values; expected one per label`);
    }
    let probs = values;
    if (opts.output === 'logits') {
      const m = Math.max(...values);
      const e = values.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      probs = e.map((v) => v / s);
    }
    const p = probs[positive] as number;
    return Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 1;
  };

  return {
    async score(text: string): Promise<number> {
      let best = 0;
      for (const w of tokenizer.windows(text, opts.maxLength, opts.maxWindows)) best = Math.max(best, await scoreWindow(w));
      return best;
    },
    close: () => session.release(),
  };
}
