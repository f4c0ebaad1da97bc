// Legacy Keras HDF5 (`.h5`) analyzer. An HDF5 file starts with the signature
// `\x89HDF\r\n\x1a\n` at offset 0 (or 512, 1024, 2048… after a user block). tf.keras / Keras 2
// store the architecture as JSON in the root attribute `model_config` and the compile settings in
// `training_config`; both are rebuilt on load, so they get the same checks as a `.keras`
// config.json (keras-config.ts). Attributes are read with h5wasm, which needs a file: the bytes
// are copied to a private temporary file (files larger than the header limit are searched for the
// JSON instead of being copied). Nothing in the file is executed or deserialised into Python.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type H5wasm from 'h5wasm/node';
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { checkKerasConfig } from './keras-config.js';
import { clip, decodeUtf8, readRange } from './model-io.js';

const DOCS = 'docs/rules.md#keras';

export const KERAS_H5_RULES = defineRules([
  {
    id: 'RMP-KERAS-006',
    severity: 'high',
    title: 'HDF5 file could not be parsed',
    description: 'The HDF5 structure could not be read, so a Keras model_config it may hold was not checked. Malformed HDF5 files have triggered memory-safety bugs in the HDF5 library.',
    remediation: 'Do not load the file; export the model again.',
    links: [DOCS],
  },
] as const);

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const CONFIG_ATTRS = ['model_config', 'training_config'];

function signatureAt(head: Uint8Array, off: number): boolean {
  return head.length >= off + 8 && SIGNATURE.every((b, i) => head[off + i] === b);
}

export function isHdf5(head: Uint8Array): boolean {
  return [0, 512, 1024, 2048, 4096, 8192, 16384, 32768].some((o) => signatureAt(head, o));
}

type H5Lib = typeof H5wasm;
// Loaded on first use: the WebAssembly module costs start-up time most scans do not need.
let h5: Promise<H5Lib> | undefined;
async function loadH5(): Promise<H5Lib> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5;
}

function attrText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return decodeUtf8(v);
  if (Array.isArray(v) && v.length === 1) return attrText(v[0]);
  return undefined;
}

function checkJson(text: string, attr: string, ctx: AnalyzeContext): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    ctx.report({ ruleId: 'RMP-KERAS-005', message: `${attr} attribute is not valid JSON (${clip((e as Error).message, 80)})`, location: { record: attr } });
    return;
  }
  try {
    checkKerasConfig(parsed, (f) => ctx.report(f), attr);
  } catch {
    ctx.report({ ruleId: 'RMP-KERAS-005', message: `${attr} is nested too deeply to check`, location: { record: attr } });
  }
}

async function viaH5wasm(source: ByteSource, ctx: AnalyzeContext): Promise<void> {
  const lib = await loadH5();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-h5-'));
  const file = path.join(dir, 'model.h5');
  try {
    const bytes = await readRange(source, 0, source.size);
    await writeFile(file, bytes, { mode: 0o600 });
    let f: InstanceType<typeof lib.File> | undefined;
    try {
      f = new lib.File(file, 'r');
      const attrs = f.attrs as Record<string, { value: unknown } | undefined>;
      for (const name of CONFIG_ATTRS) {
        const a = attrs[name];
        if (!a) continue;
        const text = attrText(a.value);
        if (text === undefined) {
          ctx.report({ ruleId: 'RMP-KERAS-005', message: `${name} attribute is not a UTF-8 string`, location: { record: name } });
          continue;
        }
        checkJson(text, name, ctx);
      }
    } catch (e) {
      ctx.report({ ruleId: 'RMP-KERAS-006', message: `HDF5 structure could not be read (${clip(e instanceof Error ? e.message : String(e), 80)})`, location: { offset: 0 } });
    } finally {
      try {
        f?.close();
      } catch {
        // closing a file h5wasm failed to open fully: nothing more to release
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** For files too large to copy: finds `{"class_name"` JSON texts by a streaming byte search. */
async function viaSearch(source: ByteSource, ctx: AnalyzeContext): Promise<void> {
  const needle = Buffer.from('{"class_name"');
  const chunk = 8 * 1024 * 1024;
  let found = 0;
  for (let off = 0; off < source.size && found < 4; off += chunk - needle.length) {
    if (ctx.signal.aborted) return;
    const buf = Buffer.from(await readRange(source, off, chunk));
    let i = buf.indexOf(needle);
    while (i >= 0 && found < 4) {
      // Read up to the header limit from there and cut at the matching brace.
      const text = Buffer.from(await readRange(source, off + i, 64 * 1024 * 1024)).toString('utf8');
      const end = matchingBrace(text);
      found++;
      if (end > 0) checkJson(text.slice(0, end), `model_config@${off + i}`, ctx);
      else ctx.report({ ruleId: 'RMP-KERAS-005', message: `Keras config at ${off + i} does not end within 64 MiB`, location: { offset: off + i } });
      i = buf.indexOf(needle, i + 1);
    }
  }
}

function matchingBrace(s: string): number {
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

export const kerasH5Analyzer: Analyzer = {
  id: 'keras-h5',
  format: 'HDF5 (legacy Keras .h5)',
  detect(head) {
    return isHdf5(head);
  },
  async analyze(source, ctx) {
    if (source.size <= Math.min(ctx.limits.maxHeaderBytes, 512 * 1024 * 1024)) await viaH5wasm(source, ctx);
    else await viaSearch(source, ctx);
  },
};
