// Legacy Keras HDF5 (`.h5`) analyzer. An HDF5 file starts with the signature
// `\x89HDF\r\n\x1a\n` at offset 0 (or 512, 1024, 2048… after a user block). tf.keras / Keras 2
// store the architecture as JSON in the root attribute `model_config` and the compile settings in
// `training_config`; both are rebuilt on load, so they get the same checks as a `.keras`
// config.json (keras-config.ts). Attributes are read with h5wasm (in a worker thread with a time
// limit), which needs a file: the bytes are copied to a private temporary file (files larger than
// the header limit are searched for the JSON instead of being copied). Nothing in the file is
// executed or deserialised into Python.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

// h5wasm runs the HDF5 C library synchronously, and the library can spin for minutes on a corrupt
// file (found by the fuzz test), so it runs in a worker thread that is terminated when its time
// is up. The worker is an inline script that imports h5wasm by absolute URL; its stderr (HDF5
// diagnostics) is captured and dropped.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = import(workerData.h5url).then(async (m) => { await m.default.ready; return m.default; });
parentPort.on('message', async ({ id, file, names }) => {
  try {
    const h5 = await ready;
    const f = new h5.File(file, 'r');
    const attrs = {};
    try {
      for (const name of names) {
        const a = f.attrs[name];
        if (a === undefined) continue;
        const v = a.value;
        attrs[name] = typeof v === 'string' || v instanceof Uint8Array ? v : Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' ? v[0] : null;
      }
    } finally {
      f.close();
    }
    parentPort.postMessage({ id, ok: true, attrs });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String((e && e.message) || e) });
  }
});
`;

let h5url: string | undefined;
/** Absolute URL of h5wasm's Node build, found next to this module (works from src/ and dist/). */
function h5wasmUrl(): string {
  if (h5url) return h5url;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'node_modules', 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (existsSync(candidate)) return (h5url = pathToFileURL(candidate).href);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('h5wasm is not installed');
    dir = up;
  }
}

type AttrResult = { ok: true; attrs: Record<string, string | Uint8Array | null> } | { ok: false; error: string };

// One worker (the WebAssembly module compiles once) serves HDF5 files one by one; it is stopped
// 250 ms after the queue empties (a live worker would keep the process running) and replaced when
// a file overruns its time.
let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();
let nextId = 0;
let pending = 0;
let idleTimer: NodeJS.Timeout | undefined;
/** How long an idle worker waits for the next file before it is stopped. */
export const H5_IDLE_MS = 250;

function stopIdleWorker(): void {
  idleTimer = undefined;
  if (pending > 0 || !worker) return;
  const w = worker;
  worker = undefined;
  void w.terminate();
}

/** Whether an HDF5 worker thread is running (tests: none may outlive the files it serves). */
export function h5WorkerRunning(): boolean {
  return worker !== undefined;
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { h5url: h5wasmUrl() }, stderr: true, stdout: true });
  w.stderr.resume();
  w.stdout.resume();
  w.unref();
  w.on('exit', () => {
    if (worker === w) worker = undefined;
  });
  w.on('error', () => {
    if (worker === w) worker = undefined;
  });
  worker = w;
  return w;
}

/** Reads root attributes in the worker, giving up (and killing the worker) after `timeoutMs`. */
function readAttrsInWorker(file: string, names: string[], timeoutMs: number, signal: AbortSignal): Promise<AttrResult | 'timeout'> {
  const run = async (): Promise<AttrResult | 'timeout'> => {
    const w = getWorker();
    const id = ++nextId;
    let cleanup = (): void => {};
    const result = await new Promise<AttrResult | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      const onAbort = (): void => resolve('timeout');
      const onMessage = (m: AttrResult & { id: number }): void => {
        if (m.id === id) resolve(m);
      };
      const onExit = (code: number): void => resolve({ ok: false, error: `HDF5 worker exited with code ${code}` });
      if (signal.aborted) resolve('timeout');
      signal.addEventListener('abort', onAbort, { once: true });
      w.on('message', onMessage);
      w.once('exit', onExit);
      cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        w.off('message', onMessage);
        w.off('exit', onExit);
      };
      w.postMessage({ id, file, names });
    });
    cleanup();
    if (result === 'timeout') {
      worker = undefined;
      await w.terminate();
    }
    return result;
  };
  pending++;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const p = queue.then(run, run).finally(() => {
    if (--pending === 0 && worker) idleTimer = setTimeout(stopIdleWorker, H5_IDLE_MS);
  });
  queue = p.catch(() => undefined);
  return p;
}

function attrText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return decodeUtf8(v);
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

/** Time one HDF5 file may take in the worker. */
export const H5_TIMEOUT_MS = 15_000;

async function viaH5wasm(source: ByteSource, ctx: AnalyzeContext): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-h5-'));
  const file = path.join(dir, 'model.h5');
  try {
    await writeFile(file, await readRange(source, 0, source.size), { mode: 0o600 });
    const res = await readAttrsInWorker(file, CONFIG_ATTRS, Math.min(H5_TIMEOUT_MS, ctx.limits.timeoutMs), ctx.signal);
    if (res === 'timeout') {
      ctx.report({ ruleId: 'RMP-KERAS-006', message: 'HDF5 structure could not be read in time (the HDF5 library did not finish)', location: { offset: 0 } });
      return;
    }
    if (!res.ok) {
      ctx.report({ ruleId: 'RMP-KERAS-006', message: `HDF5 structure could not be read (${clip(res.error, 80)})`, location: { offset: 0 } });
      return;
    }
    for (const name of CONFIG_ATTRS) {
      if (!(name in res.attrs)) continue;
      const text = attrText(res.attrs[name]);
      if (text === undefined) {
        ctx.report({ ruleId: 'RMP-KERAS-005', message: `${name} attribute is not a UTF-8 string`, location: { record: name } });
        continue;
      }
      checkJson(text, name, ctx);
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
  format: 'HDF5',
  detect(head) {
    return isHdf5(head);
  },
  async analyze(source, ctx) {
    if (source.size <= Math.min(ctx.limits.maxHeaderBytes, 512 * 1024 * 1024)) await viaH5wasm(source, ctx);
    else await viaSearch(source, ctx);
  },
};
