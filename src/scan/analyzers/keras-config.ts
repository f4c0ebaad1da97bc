// Checks of Keras model configurations, shared by the Keras v3 `.keras` format (its `config.json`
// member, reached through the zip analyzer), legacy HDF5 `.h5` files (`model_config` attribute)
// and SavedModel `keras_metadata.pb`. Loading a Keras model rebuilds every object the config
// names: Lambda layers carry marshalled Python bytecode (run by tf.keras / Keras 2 on load,
// CVE-2024-3660; Keras 3 refuses it only with safe_mode=True), and `module` + `class_name` pairs
// make the loader import any module and call any function it can reach (Keras 3 safe_mode
// bypasses: CVE-2025-1550 arbitrary modules, CVE-2025-8747 `keras.utils.get_file`).
// This module also provides the analyzer for standalone Keras JSON configs (`config.json`,
// `model.json` from `to_json()`).
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, FindingInput } from '../types.js';
import { clip, decodeUtf8, isPlainObject, readRange } from './model-io.js';

const DOCS = 'docs/rules.md#keras';
const LAMBDA = 'https://keras.io/api/layers/core_layers/lambda/';

export const KERAS_RULES = defineRules([
  {
    id: 'RMP-KERAS-001',
    severity: 'critical',
    title: 'Keras Lambda layer carries Python bytecode',
    description:
      'A Lambda layer stores a marshalled Python function (base64). tf.keras and Keras 2 execute it when the model is loaded or called (CVE-2024-3660); Keras 3 runs it when safe_mode=False.',
    remediation: 'Do not load the model. Rebuild the architecture in code and load only the weights (or use safetensors).',
    links: [DOCS, LAMBDA],
  },
  {
    id: 'RMP-KERAS-002',
    severity: 'medium',
    title: 'Keras config imports a custom module',
    description:
      'An object in the config is rebuilt from a module outside Keras, TensorFlow and NumPy (or from a custom registered name). Loading imports that module, which runs its code, and the custom class runs at inference.',
    remediation: 'Make sure the module comes from a trusted package you have reviewed; otherwise do not load the model.',
    links: [DOCS],
  },
  {
    id: 'RMP-KERAS-003',
    severity: 'critical',
    title: 'Keras config references a dangerous function or module',
    description:
      'The config names a module or function that runs commands, touches files or the network, or turns off safety checks (os, subprocess, builtins, importlib, keras.utils.get_file, keras.config.enable_unsafe_deserialization, load_model, tf.io.write_file, ...). Keras rebuilds it while loading, even with safe_mode in vulnerable versions (CVE-2025-1550, CVE-2025-8747).',
    remediation: 'Do not load the model; treat its source as compromised.',
    links: [DOCS],
  },
  {
    id: 'RMP-KERAS-004',
    severity: 'high',
    title: 'Keras Lambda layer calls a named Python function',
    description:
      'A Lambda layer refers to a Python function by name; loading resolves it and inference runs it. Medium when the function is in the Keras, TensorFlow or NumPy namespace.',
    remediation: 'Review the function; prefer built-in layers or a reviewed custom layer class.',
    links: [DOCS, LAMBDA],
  },
  {
    id: 'RMP-KERAS-005',
    severity: 'high',
    title: 'Keras config is malformed',
    description: 'The Keras model config could not be parsed (invalid JSON or UTF-8, or nested beyond the scanner\'s bound), so its layers were not checked.',
    remediation: 'Do not load the model; export it again.',
    links: [DOCS],
  },
] as const);

/** Namespaces whose objects are built into Keras installations. */
const TRUSTED_PREFIXES = ['keras', 'tensorflow', 'tf_keras', 'tf', 'numpy', 'keras_nlp', 'keras_hub', 'keras_cv'];
const DANGEROUS_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'subprocess',
  'builtins',
  '__builtin__',
  'sys',
  'importlib',
  'runpy',
  'shutil',
  'socket',
  'pickle',
  'marshal',
  'ctypes',
  'code',
  'codeop',
  'pty',
  'webbrowser',
  'urllib',
  'requests',
  'http',
  'ftplib',
  'smtplib',
  'telnetlib',
  'multiprocessing',
  'platform',
  'commands',
  'pydoc',
  'pkgutil',
  'functools',
  'operator',
  'glob',
  'tempfile',
  'pathlib',
  'io',
  'asyncio',
  'shelve',
  'dill',
  'cloudpickle',
  'joblib',
]);
/** Functions that touch files or the network, load nested models, or disable safety. */
const DANGEROUS_NAMES = new Set([
  'get_file',
  'enable_unsafe_deserialization',
  'load_model',
  'load_weights',
  'save_model',
  'write_file',
  'read_file',
  'GFile',
  'gfile',
  'copy',
  'rename',
  'remove',
  'rmtree',
  'makedirs',
  'system',
  'popen',
  'exec',
  'eval',
  'compile',
  '__import__',
  'import_module',
  'py_function',
  'numpy_function',
  'py_func',
]);

function topModule(m: string): string {
  return m.split('.')[0] ?? m;
}

function trusted(m: string): boolean {
  const top = topModule(m);
  return TRUSTED_PREFIXES.includes(top);
}

/** Names (co_names, co_varnames) interned in a marshalled code object, for the message. */
export function marshalNames(code: Uint8Array): string[] {
  const names = new Set<string>();
  for (let i = 0; i + 2 < code.length && names.size < 12; i++) {
    const t = code[i]! & 0x7f;
    if (t === 0x5a || t === 0x7a) {
      // TYPE_SHORT_ASCII_INTERNED 'Z' / TYPE_SHORT_ASCII 'z': one length byte then ASCII.
      const n = code[i + 1]!;
      if (n >= 2 && i + 2 + n <= code.length) {
        const s = String.fromCharCode(...code.subarray(i + 2, i + 2 + n));
        if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(s)) {
          names.add(s);
          i += 1 + n;
        }
      }
    }
  }
  return [...names];
}

/** Decodes a base64 string that holds a marshalled Python code object, else undefined. */
export function marshalledCode(s: string): Uint8Array | undefined {
  if (s.length < 16 || !/^[A-Za-z0-9+/=\s]+$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  // TYPE_CODE is 'c' (0x63); with FLAG_REF set it is 0xe3.
  if (b.length < 16 || (b[0] !== 0xe3 && b[0] !== 0x63)) return undefined;
  return new Uint8Array(b);
}

interface Walk {
  path: string[];
  depth: number;
}

const MAX_DEPTH = 200;

/**
 * Checks a parsed Keras config and reports through `report`. `where` names the config (the
 * member or attribute) for messages; `offset` is where the config starts in the file, if known.
 */
export function checkKerasConfig(config: unknown, report: (f: FindingInput) => void, where: string, offset?: number): void {
  const seenModules = new Set<string>();
  let found = 0;
  const emit = (f: FindingInput): void => {
    if (++found <= 50) report(f);
  };
  const layerName = (o: Record<string, unknown>): string | undefined => {
    const c = o.config;
    return isPlainObject(c) && typeof c.name === 'string' ? c.name : typeof o.name === 'string' ? o.name : undefined;
  };
  const loc = (record: string | undefined) => (offset === undefined ? { record } : { offset, record });

  const visit = (node: unknown, w: Walk): void => {
    if (w.depth > MAX_DEPTH) throw new Error('nesting');
    if (Array.isArray(node)) {
      node.forEach((v, i) => visit(v, { path: [...w.path, String(i)], depth: w.depth + 1 }));
      return;
    }
    if (!isPlainObject(node)) return;
    const cls = typeof node.class_name === 'string' ? node.class_name : undefined;
    const mod = typeof node.module === 'string' ? node.module : undefined;
    if (cls === 'Lambda') checkLambda(node, layerName(node), emit, loc, where);
    if (mod !== undefined && cls !== undefined) {
      const fn = cls === 'function' && typeof node.config === 'string' ? node.config : cls;
      const full = `${mod}.${fn}`;
      if (!seenModules.has(full)) {
        seenModules.add(full);
        const name = layerName(node);
        if (DANGEROUS_MODULES.has(topModule(mod)) || DANGEROUS_NAMES.has(fn)) {
          emit({
            ruleId: 'RMP-KERAS-003',
            message: `${where}: rebuilds ${clip(full, 100)} while loading${name ? ` (layer ${clip(name, 60)})` : ''}`,
            location: loc(name),
            details: { module: mod, name: fn },
          });
        } else if (!trusted(mod)) {
          emit({
            ruleId: 'RMP-KERAS-002',
            message: `${where}: imports custom module ${clip(mod, 80)} for ${clip(fn, 60)}${name ? ` (layer ${clip(name, 60)})` : ''}`,
            location: loc(name),
            details: { module: mod, name: fn, registeredName: typeof node.registered_name === 'string' ? node.registered_name : undefined },
          });
        }
      }
    } else if (mod === undefined && typeof node.registered_name === 'string' && node.registered_name.includes('>') && !seenModules.has(node.registered_name)) {
      seenModules.add(node.registered_name);
      emit({
        ruleId: 'RMP-KERAS-002',
        message: `${where}: needs custom registered object ${clip(node.registered_name, 80)}`,
        location: loc(layerName(node)),
        details: { registeredName: node.registered_name },
      });
    }
    for (const [k, v] of Object.entries(node)) if (v !== null && typeof v === 'object') visit(v, { path: [...w.path, k], depth: w.depth + 1 });
  };
  visit(config, { path: [], depth: 0 });
  if (found > 50) report({ ruleId: 'RMP-KERAS-002', severity: 'info', message: `${where}: ${found - 50} more finding(s) not listed`, location: loc(undefined) });
}

function collectStrings(node: unknown, out: string[], depth = 0): void {
  if (depth > 50 || out.length > 1000) return;
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const v of node) collectStrings(v, out, depth + 1);
  else if (isPlainObject(node)) for (const v of Object.values(node)) collectStrings(v, out, depth + 1);
}

function checkLambda(
  node: Record<string, unknown>,
  name: string | undefined,
  emit: (f: FindingInput) => void,
  loc: (r: string | undefined) => { record: string | undefined; offset?: number },
  where: string,
): void {
  const cfg = isPlainObject(node.config) ? node.config : {};
  const strings: string[] = [];
  collectStrings(cfg.function ?? cfg, strings);
  for (const s of strings) {
    const code = marshalledCode(s);
    if (code) {
      const names = marshalNames(code);
      emit({
        ruleId: 'RMP-KERAS-001',
        message: `${where}: Lambda layer ${clip(name ?? '(unnamed)', 60)} carries ${code.length} bytes of Python bytecode${names.length ? ` using ${names.slice(0, 8).join(', ')}` : ''} (run on load by tf.keras/Keras 2, and by Keras 3 with safe_mode=False)`,
        location: loc(name),
        details: { bytecodeBytes: code.length, names },
      });
      return;
    }
  }
  // A function by name: Keras 2 `function` string + `module`; Keras 3 {module, class_name: 'function', config: name}.
  const fn = cfg.function;
  let module: string | undefined;
  let fname: string | undefined;
  if (typeof fn === 'string') {
    fname = fn;
    module = typeof cfg.module === 'string' ? cfg.module : undefined;
  } else if (isPlainObject(fn)) {
    module = typeof fn.module === 'string' ? fn.module : undefined;
    fname = typeof fn.config === 'string' ? fn.config : typeof fn.class_name === 'string' ? fn.class_name : undefined;
    if (fn.class_name === '__lambda__') {
      emit({
        ruleId: 'RMP-KERAS-001',
        message: `${where}: Lambda layer ${clip(name ?? '(unnamed)', 60)} holds a serialized Python lambda`,
        location: loc(name),
      });
      return;
    }
  }
  if (fname === undefined) return;
  const isTrusted = module !== undefined && trusted(module) && !DANGEROUS_NAMES.has(fname);
  emit({
    ruleId: 'RMP-KERAS-004',
    severity: isTrusted ? 'medium' : undefined,
    message: `${where}: Lambda layer ${clip(name ?? '(unnamed)', 60)} calls ${clip(module ? `${module}.${fname}` : fname, 100)}`,
    location: loc(name),
    details: { module: module ?? null, function: fname },
  });
}

/** Whether parsed JSON looks like a Keras model config. */
export function isKerasConfig(v: unknown): v is Record<string, unknown> {
  if (!isPlainObject(v) || typeof v.class_name !== 'string' || !isPlainObject(v.config)) return false;
  return 'module' in v || 'keras_version' in v || 'backend' in v || 'registered_name' in v || 'build_config' in v || Array.isArray(v.config.layers);
}

const MAX_CONFIG = 64 * 1024 * 1024;

export const kerasConfigAnalyzer: Analyzer = {
  id: 'keras-config',
  format: 'Keras config',
  detect(head, source) {
    if (source.size > MAX_CONFIG) return false;
    let i = 0;
    while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
    if (head[i] !== 0x7b) return false;
    const text = new TextDecoder().decode(head.subarray(0, 65536));
    return text.includes('"class_name"') && text.includes('"config"');
  },
  async analyze(source, ctx: AnalyzeContext) {
    const text = decodeUtf8(await readRange(source, 0, Math.min(source.size, MAX_CONFIG, ctx.limits.maxHeaderBytes)));
    let parsed: unknown;
    try {
      if (text === undefined) throw new Error('not UTF-8');
      parsed = JSON.parse(text);
    } catch (e) {
      ctx.report({ ruleId: 'RMP-KERAS-005', message: `Keras config is not valid JSON (${clip((e as Error).message, 80)})`, location: { offset: 0 } });
      return;
    }
    if (!isKerasConfig(parsed)) return;
    try {
      checkKerasConfig(parsed, (f) => ctx.report(f), 'config');
    } catch {
      ctx.report({ ruleId: 'RMP-KERAS-005', message: 'Keras config is nested too deeply to check', location: { offset: 0 } });
    }
  },
};
