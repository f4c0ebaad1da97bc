// `rampart encrypt`, `rampart decrypt` (including `--to-temp -- CMD ...`, the serving mode) and
// `rampart rewrap`: envelope encryption at rest (docs/encryption.md). Each calls one function of
// src/crypto; this file only maps flags, prints results and runs the child process of --to-temp.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { decryptPath, decryptToPrivateTemp, encryptPath, nativeSegments, rewrapPath } from '../../crypto/index.js';
import { ExitCode } from '../exit-code.js';
import { providerOptionsFrom, withKeyOptions, type KeyFlags } from './keys-kek.js';

interface CommonFlags extends KeyFlags {
  json?: boolean;
  force?: boolean;
}

function parseSize(s: string): number {
  const m = /^([0-9]+)\s*(k|ki|kib|kb|m|mi|mib|mb)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`invalid size "${s}" (e.g. 65536, 64KiB, 1MiB)`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Number(m[1]) * mult;
}

function parseJobs(s: string): number {
  if (!/^[1-9][0-9]?$/.test(s) || Number(s) > 64) throw new UsageError(`--jobs must be an integer from 1 to 64, not "${s}"`);
  return Number(s);
}

/** Runs CMD with `{}` replaced by `path`; resolves to its exit code, forwarding termination signals. */
function runWithPath(cmd: string[], path: string): Promise<number> {
  const [file, ...args] = cmd.map((a) => a.replaceAll('{}', path));
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: 'inherit', env: { ...process.env, RAMPART_DECRYPTED_PATH: path } });
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    for (const s of signals) process.on(s, forward);
    const off = (): void => {
      for (const s of signals) process.off(s, forward);
    };
    child.once('error', (err) => {
      off();
      reject(new UsageError(`cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    child.once('exit', (code, signal) => {
      off();
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
    });
  });
}

/** Inputs at least this large are worth a re-exec with the allocator tuned (see tunedReexec). */
const REEXEC_THRESHOLD = 64 * 1024 * 1024;

async function totalSize(path: string, limit: number): Promise<number> {
  const st = await stat(path).catch(() => null);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let sum = 0;
  for (const e of await readdir(path, { withFileTypes: true })) {
    if (sum >= limit) break;
    if (e.isFile() || e.isDirectory()) sum += await totalSize(join(path, e.name), limit - sum);
  }
  return sum;
}

/**
 * Node's cipher API returns a freshly allocated buffer per segment. With glibc's default heap
 * trimming, every garbage collection hands that memory back to the kernel and the next segments
 * fault it in again, which doubles the system time of encrypting a multi-gigabyte file. The
 * trimming thresholds can only be set before the process starts, so for large inputs on Linux the
 * command re-runs itself once with them set (stdio, terminal prompts and exit code pass through).
 * The native segment cipher (src/crypto/envelope/native.ts) writes into reused buffers instead, so
 * with it there is nothing to tune and no second process start. Set RAMPART_MALLOC_TUNED=1 to disable.
 */
async function tunedReexec(path: string): Promise<boolean> {
  if (process.platform !== 'linux' || process.env.RAMPART_MALLOC_TUNED || nativeSegments()) return false;
  if ((await totalSize(path, REEXEC_THRESHOLD)) < REEXEC_THRESHOLD) return false;
  const env = { ...process.env, RAMPART_MALLOC_TUNED: '1', MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
    // The terminal sends Ctrl-C to both processes; only relay signals sent to this one alone.
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
    for (const s of signals) process.on(s, forward);
    child.once('error', reject);
    child.once('exit', (c, sig) => {
      for (const s of signals) process.off(s, forward);
      resolve(c ?? (sig ? 128 + (signalNumber(sig) ?? 1) : 1));
    });
  });
  if (code !== 0) throw new ExitCode(code);
  return true;
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig];
}

export function register(program: Command): void {
  withKeyOptions(
    program
      .command('encrypt')
      .description('encrypt a file, or each file of a directory, with a fresh data key wrapped by a key-encryption key')
      .argument('<path>', 'file or directory to encrypt')
      .requiredOption('-o, --output <out>', 'output file, or a new directory (files gain the .enc suffix)')
      .requiredOption('--key <keyref>', 'key-encryption key: local:NAME, aws-kms:alias/NAME, aws-kms:arn:...')
      .option('--aad <artifact-id>', 'artifact id bound to the ciphertext (checked by decrypt --aad)')
      .option('--segment-size <bytes>', 'plaintext bytes per authenticated segment (default 64KiB)')
      .option('--jobs <n>', 'worker threads sealing each file of 8 MiB or more (default 1 = one native job per file, usually fastest)')
      .option('--force', 'replace an existing output file')
      .option('--json', 'print a JSON summary'),
  ).action(async (path: string, o: CommonFlags & { output: string; key: string; aad?: string; segmentSize?: string; jobs?: string }) => {
    if (await tunedReexec(path)) return;
    const logger = createLogger({ level: 'warn', name: 'rampart-encrypt' });
    const r = await encryptPath(path, o.output, {
      key: o.key,
      providerOptions: { ...providerOptionsFrom(o), logger },
      logger,
      ...(o.aad !== undefined ? { artifactId: o.aad } : {}),
      ...(o.segmentSize !== undefined ? { segmentSize: parseSize(o.segmentSize) } : {}),
      ...(o.force ? { force: true } : {}),
      ...(o.jobs !== undefined ? { jobs: parseJobs(o.jobs) } : {}),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(r.files, null, 2)}\n`);
    else for (const f of r.files) process.stdout.write(`encrypted ${f.input} -> ${f.output} (${f.bytesIn} bytes)\n`);
  });

  withKeyOptions(
    program
      .command('decrypt')
      .description('decrypt a file or directory (atomically), or decrypt to a private temp location and run a command on it')
      .argument('<path>', 'encrypted file or directory')
      .argument('[command...]', 'with --to-temp: the command to run after `--`; {} is replaced by the decrypted path')
      .option('-o, --output <out>', 'output file or new directory')
      .option('--to-temp', 'decrypt into a private 0700 directory (in /dev/shm when present), run the command, then wipe it')
      .option('--aad <artifact-id>', 'refuse the file unless it was encrypted for this artifact id')
      .option('--force', 'replace an existing output file')
      .option('--json', 'print a JSON summary'),
  ).action(async (path: string, command: string[], o: CommonFlags & { output?: string; toTemp?: boolean; aad?: string }) => {
    if (!o.toTemp && (await tunedReexec(path))) return;
    const logger = createLogger({ level: 'warn', name: 'rampart-decrypt' });
    const opts = {
      providerOptions: { ...providerOptionsFrom(o), logger },
      logger,
      ...(o.aad !== undefined ? { artifactId: o.aad } : {}),
      ...(o.force ? { force: true } : {}),
    };
    if (o.toTemp) {
      if (o.output) throw new UsageError('--to-temp and --output are exclusive');
      if (command.length === 0) throw new UsageError('--to-temp needs a command after `--`, e.g. rampart decrypt model.enc --to-temp -- python serve.py {}');
      const t = await decryptToPrivateTemp(path, opts);
      let code: number;
      try {
        code = await runWithPath(command, t.path);
      } finally {
        await t.cleanup();
      }
      if (code !== 0) throw new ExitCode(code);
      return;
    }
    if (command.length > 0) throw new UsageError(`unexpected arguments: ${command.join(' ')} (a command is only run with --to-temp)`);
    if (!o.output) throw new UsageError('decrypt needs -o OUT (or --to-temp -- CMD ...)');
    const r = await decryptPath(path, o.output, opts);
    if (o.json) process.stdout.write(`${JSON.stringify(r.files, null, 2)}\n`);
    else for (const f of r.files) process.stdout.write(`decrypted ${f.input} -> ${f.output} (${f.bytesOut} bytes)\n`);
  });

  withKeyOptions(
    program
      .command('rewrap')
      .description('re-wrap the data keys of encrypted files under the newest KEK version (or another KEK) without re-encrypting the payload')
      .argument('<path>', 'encrypted file or directory')
      .option('--key <keyref>', 'wrap under this key instead of the one each file names')
      .option('--force', 'rewrap even files already under the current version')
      .option('--json', 'print a JSON summary'),
  ).action(async (path: string, o: CommonFlags & { key?: string }) => {
    const logger = createLogger({ level: 'warn', name: 'rampart-rewrap' });
    const rs = await rewrapPath(path, {
      providerOptions: { ...providerOptionsFrom(o), logger },
      logger,
      ...(o.key !== undefined ? { key: o.key } : {}),
      ...(o.force ? { force: true } : {}),
    });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(rs, null, 2)}\n`);
      return;
    }
    for (const r of rs) {
      const from = `${r.from.provider}:${r.from.keyRef}@${r.from.keyVersion}`;
      const to = `${r.to.provider}:${r.to.keyRef}@${r.to.keyVersion}`;
      process.stdout.write(r.changed ? `rewrapped ${r.path}: ${from} -> ${to}\n` : `unchanged ${r.path}: already ${from}\n`);
    }
  });
}
