// Benchmark of the model-format analyzers (safetensors, GGUF, ONNX) on files on disk: time per
// file and bytes read, to show that tensor payloads are never read. Run after `npm run build`:
//   node bench/model-formats.mjs [--tensor-gb 2]
// Files are written to the OS temp dir (the tensor data of the safetensors and GGUF files is a
// sparse hole, so no disk space is used for it) and removed at the end.
import { mkdtempSync, openSync, writeSync, ftruncateSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileByteSource } from '../dist/scan/byte-source.js';
import { DEFAULT_LIMITS } from '../dist/scan/limits.js';
import { safetensorsAnalyzer } from '../dist/scan/analyzers/safetensors.js';
import { ggufAnalyzer } from '../dist/scan/analyzers/gguf.js';
import { onnxAnalyzer } from '../dist/scan/analyzers/onnx.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const tensorBytes = Math.round(arg('tensor-gb', 2) * 1024 ** 3);
const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-formats-'));

function ctx(file) {
  const findings = [];
  return {
    path: file,
    depth: 0,
    limits: { ...DEFAULT_LIMITS },
    options: { allowGlobals: [], denyGlobals: [], limits: { ...DEFAULT_LIMITS } },
    signal: new AbortController().signal,
    report: (f) => findings.push(f),
    scanChild: async () => undefined,
    findings,
  };
}

/** safetensors: 2,000 tensors in the header, `tensorBytes` of (sparse) data. */
function makeSafetensors(file) {
  const n = 2000;
  const per = Math.floor(tensorBytes / n / 4) * 4;
  const header = {};
  for (let i = 0; i < n; i++) header[`model.layers.${i}.weight`] = { dtype: 'F32', shape: [per / 4], data_offsets: [i * per, (i + 1) * per] };
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const hb = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const fd = openSync(file, 'w');
  writeSync(fd, len);
  writeSync(fd, hb);
  ftruncateSync(fd, 8 + hb.length + n * per);
  closeSync(fd);
}

/** GGUF v3 with a Llama-3-sized tokenizer (128,256 tokens, 280,000 merges) and sparse tensor data. */
function makeGguf(file) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s); u64(b.length); parts.push(b); };
  const tokens = Array.from({ length: 128256 }, (_, i) => `tok${i}`);
  const merges = Array.from({ length: 280000 }, (_, i) => `t${i % 977} k${i % 331}`);
  const tensors = 291;
  const per = Math.floor(tensorBytes / tensors / 32) * 32;
  parts.push(Buffer.from('GGUF'));
  u32(3);
  u64(tensors);
  u64(5);
  str('general.architecture'); u32(8); str('llama');
  str('general.alignment'); u32(4); u32(32);
  str('tokenizer.ggml.tokens'); u32(9); u32(8); u64(tokens.length); for (const t of tokens) str(t);
  str('tokenizer.ggml.merges'); u32(9); u32(8); u64(merges.length); for (const m of merges) str(m);
  str('tokenizer.chat_template'); u32(8); str("{% for message in messages %}{{'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>'}}{% endfor %}");
  for (let i = 0; i < tensors; i++) {
    str(`blk.${i}.ffn_down.weight`);
    u32(1);
    u64(per / 4);
    u32(0);
    u64(i * per);
  }
  let head = Buffer.concat(parts);
  const pad = (32 - (head.length % 32)) % 32;
  head = Buffer.concat([head, Buffer.alloc(pad)]);
  const fd = openSync(file, 'w');
  writeSync(fd, head);
  ftruncateSync(fd, head.length + tensors * per);
  closeSync(fd);
}

/** ONNX: 20,000 nodes and 64 initializers of 1 MiB raw data (written, not sparse: 64 MiB). */
async function makeOnnx(file) {
  const { buildOnnx } = await import('./model-formats-onnx.mjs');
  writeFileSync(file, buildOnnx());
}

async function measure(label, analyzer, file) {
  const fh = await open(file, 'r');
  const { size } = await fh.stat();
  const src = new FileByteSource(fh, size);
  const c = ctx(file);
  const t0 = process.hrtime.bigint();
  await analyzer.analyze(src, c);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await fh.close();
  const mib = size / 1024 ** 2;
  console.log(`| ${label} | ${mib.toFixed(0)} MiB | ${ms.toFixed(0)} ms | ${(src.bytesRead / 1024 ** 2).toFixed(2)} MiB | ${((size / 1024 ** 2) / (ms / 1000)).toFixed(0)} MiB/s | ${c.findings.length} |`);
}

try {
  const st = path.join(dir, 'model.safetensors');
  const gg = path.join(dir, 'model.gguf');
  const ox = path.join(dir, 'model.onnx');
  makeSafetensors(st);
  makeGguf(gg);
  await makeOnnx(ox);
  console.log('| file | size | time | bytes read | effective MiB/s | findings |');
  console.log('|---|---|---|---|---|---|');
  for (let round = 0; round < 2; round++) {
    await measure('safetensors, 2,000 tensors', safetensorsAnalyzer, st);
    await measure('GGUF v3, 128k-token vocab + 280k merges, 291 tensors', ggufAnalyzer, gg);
    await measure('ONNX, 20,000 nodes, 64 × 1 MiB initializers', onnxAnalyzer, ox);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
