// Benchmark: `rampart sign` hashing speed against `ls | xargs -P2 sha256sum` over the same files,
// in the same run. Generates FILES x SIZE_MB files in the OS temp dir, warms the page cache so
// both tools read from memory, alternates the contenders for ROUNDS rounds, reports medians, and
// deletes everything at the end. Run after `npm run build`:
//   node bench/sign.mjs [--files 4] [--size-mb 512] [--rounds 3] [--hash-only]
// --hash-only compares the two hashing strategies (worker threads vs async streams on one thread)
// directly through hashTasks(), without the rest of signing.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { signModel } from '../dist/signing/sign.js';
import { hashTasks } from '../dist/signing/hash-pool.js';

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const FILES = arg('files', 4);
const SIZE_MB = arg('size-mb', 512);
const ROUNDS = arg('rounds', 3);
const BYTES = FILES * SIZE_MB * 1024 * 1024;

const base = mkdtempSync(path.join(tmpdir(), 'rampart-bench-sign-'));
const model = path.join(base, 'model');
const cleanup = () => rmSync(base, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (ms) => BYTES / 1024 / 1024 / (ms / 1000);

try {
  execFileSync('mkdir', ['-p', model]);
  const block = Buffer.alloc(16 * 1024 * 1024);
  randomFillSync(block);
  for (let f = 0; f < FILES; f++) {
    const fd = openSync(path.join(model, `shard-${f}.bin`), 'w');
    for (let w = 0; w < SIZE_MB / 16; w++) {
      block.writeUInt32LE(f * 100000 + w, 0); // distinct content per block
      writeSync(fd, block);
    }
    closeSync(fd);
  }
  // Warm the page cache so both contenders read from memory.
  for (let f = 0; f < FILES; f++) readFileSync(path.join(model, `shard-${f}.bin`));

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyPem = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const sigPath = path.join(base, 'model.sig');

  const tasks = Array.from({ length: FILES }, (_, f) => ({ path: path.join(model, `shard-${f}.bin`), start: 0 }));
  const hashOnly = {
    'sha256sum (xargs -P2)': async () => {
      const r = spawnSync('sh', ['-c', 'ls | xargs -P2 sha256sum > /dev/null'], { cwd: model });
      if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`);
    },
    'hashTasks: worker threads': () => hashTasks(tasks, { strategy: 'workers' }),
    'hashTasks: async streams (1 thread)': () => hashTasks(tasks, { strategy: 'streams' }),
  };
  const full = {
    'sha256sum (xargs -P2)': async () => {
      const r = spawnSync('sh', ['-c', 'ls | xargs -P2 sha256sum > /dev/null'], { cwd: model });
      if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`);
    },
    'rampart sign (auto: worker threads)': () => signModel({ modelPath: model, privateKeyPem, signaturePath: sigPath }),
    'rampart sign (async streams, 1 thread)': () => signModel({ modelPath: model, privateKeyPem, signaturePath: sigPath, hash: { strategy: 'streams' } }),
    'rampart sign --shard-size 256MB': () =>
      signModel({ modelPath: model, privateKeyPem, signaturePath: sigPath, method: 'shards', shardSize: 256 * 1024 * 1024 }),
  };
  const contenders = process.argv.includes('--hash-only') ? hashOnly : full;
  const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(contenders)) {
      const t0 = process.hrtime.bigint();
      await run();
      times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const ref = median(times['sha256sum (xargs -P2)']);
  console.log(`machine: ${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, node ${process.version}`);
  console.log(`data: ${FILES} files x ${SIZE_MB} MiB = ${BYTES / 2 ** 20} MiB (page cache warm), ${ROUNDS} rounds, median times`);
  console.log('| contender | median s | MiB/s | vs sha256sum |');
  console.log('|---|---|---|---|');
  for (const [name, ts] of Object.entries(times)) {
    const m = median(ts);
    console.log(`| ${name} | ${(m / 1000).toFixed(2)} | ${mbps(m).toFixed(0)} | ${((ref / m) * 100).toFixed(0)}% |`);
  }
  console.log(`raw ms: ${JSON.stringify(times)}`);
} finally {
  cleanup();
}
