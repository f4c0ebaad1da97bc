// The scan engine: walks the given paths (every file, symlinks reported and not followed), scans
// files in parallel with bounded concurrency, recognises formats by content, runs every analyzer
// that recognises a file, recurses into children (archive members, decompressed streams, nested
// pickles) within limits, and turns analyzer failures and limits into findings so that a file that
// could not be fully scanned is never reported clean.
import { open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { cpus } from 'node:os';
import type { Finding } from '../core/types.js';
import { FileNotFoundError, isRampartError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { AnalyzeContext, ByteSource, FileResult, FindingInput, ScanHints, ScanOptions, ScanReport } from './types.js';
import { BufferByteSource, FileByteSource, readRange } from './byte-source.js';
import { ANALYZERS } from './analyzers/index.js';
import { getRule } from './rules.js';
import { DEFAULT_LIMITS } from './limits.js';
import { ScanLimitError, ScanRuleUnknownError, ScanTimeoutError, ScanTruncatedError } from './errors.js';
import { pickleAnalyzer, searchEmbeddedPickles } from './analyzers/pickle/analyzer.js';

export interface EngineOptions extends ScanOptions {
  /** Files scanned at the same time. */
  jobs: number;
  /** Version written into the report. */
  version: string;
  /** When given, bytes read from disk are added to `bytesRead` (benchmarks, tests). */
  stats?: { bytesRead: number };
}

export function resolveScanOptions(partial: Partial<EngineOptions> = {}): EngineOptions {
  return {
    allowGlobals: partial.allowGlobals ?? [],
    denyGlobals: partial.denyGlobals ?? [],
    limits: { ...DEFAULT_LIMITS, ...(partial.limits ?? {}) },
    jobs: Math.max(1, partial.jobs ?? Math.min(4, cpus().length)),
    version: partial.version ?? '0.0.0',
    stats: partial.stats,
  };
}

interface FileState {
  file: string;
  findings: Finding[];
  keys: Set<string>;
  formats: string[];
  complete: boolean;
  decompressed: number;
  signal: AbortSignal;
  options: EngineOptions;
  logger: Logger;
  closed: boolean;
  timedOut: boolean;
  /** Rejects when the file's time budget is spent (one listener per file, not per child). */
  aborted: Promise<never>;
}

function newState(file: string, options: EngineOptions, logger: Logger, signal: AbortSignal): FileState {
  const aborted = abortPromise(signal);
  aborted.catch(() => undefined);
  return { file, findings: [], keys: new Set(), formats: [], complete: true, decompressed: 0, signal, options, logger, closed: false, timedOut: false, aborted };
}

function addFinding(state: FileState, path: string, f: FindingInput): void {
  if (state.closed) return;
  const rule = getRule(f.ruleId);
  if (!rule) throw new ScanRuleUnknownError(`unknown rule id ${f.ruleId}`, { details: { ruleId: f.ruleId } });
  const key = `${f.ruleId}\u0000${path}\u0000${f.location?.offset ?? ''}\u0000${f.location?.record ?? ''}\u0000${f.message}`;
  if (state.keys.has(key)) return;
  state.keys.add(key);
  if (rule.incomplete) state.complete = false;
  const finding: Finding = { ruleId: f.ruleId, severity: f.severity ?? rule.severity, file: path, message: f.message, remediation: rule.remediation };
  if (f.location) finding.location = f.location;
  if (f.details) finding.details = f.details;
  state.findings.push(finding);
}

function handleError(state: FileState, path: string, e: unknown, analyzerId: string): void {
  if (state.timedOut || e instanceof ScanTimeoutError || state.signal.aborted) {
    state.timedOut = true;
    addFinding(state, state.file, { ruleId: 'RMP-SCAN-002', message: `scan stopped after ${state.options.limits.timeoutMs} ms (in ${path})` });
    return;
  }
  if (e instanceof ScanLimitError) {
    addFinding(state, path, { ruleId: 'RMP-SCAN-003', message: `${analyzerId}: ${e.message}` });
    return;
  }
  if (e instanceof ScanTruncatedError) {
    addFinding(state, path, { ruleId: 'RMP-SCAN-001', message: `${analyzerId}: ${e.message}` });
    return;
  }
  const code = isRampartError(e) ? e.code : 'RAMPART_ERR_INTERNAL';
  state.logger.error({ code, analyzer: analyzerId, file: path, err: e instanceof Error ? e.message : String(e) }, 'analyzer failed');
  addFinding(state, path, { ruleId: 'RMP-SCAN-004', message: `${analyzerId} failed: ${e instanceof Error ? e.message : String(e)}`, details: { code } });
}

function makeContext(state: FileState, path: string, depth: number, hints: ScanHints): AnalyzeContext {
  const ctx: AnalyzeContext = {
    path,
    depth,
    limits: state.options.limits,
    options: state.options,
    signal: state.signal,
    hints,
    report: (f) => addFinding(state, path, f),
    scanChild: async (name, source, childHints) => {
      const childPath = `${path}!${name}`;
      if (depth + 1 > state.options.limits.maxDepth) {
        addFinding(state, childPath, { ruleId: 'RMP-SCAN-003', message: `nesting deeper than ${state.options.limits.maxDepth} levels; not scanned` });
        return;
      }
      await scanSource(state, source, childPath, depth + 1, childHints ?? {});
    },
    noteFormat: (f) => {
      if (!state.formats.includes(f)) state.formats.push(f);
    },
    chargeDecompressed: (bytes) => {
      state.decompressed += bytes;
      if (state.decompressed > state.options.limits.maxTotalDecompressedBytes) {
        throw new ScanLimitError(`more than ${state.options.limits.maxTotalDecompressedBytes} bytes decompressed for one file`);
      }
    },
  };
  return ctx;
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new ScanTimeoutError());
    signal.addEventListener('abort', () => reject(new ScanTimeoutError()), { once: true });
  });
}

/** Recognises the formats of one source and runs their analyzers. */
async function scanSource(state: FileState, source: ByteSource, path: string, depth: number, hints: ScanHints): Promise<void> {
  if (state.signal.aborted) throw new ScanTimeoutError();
  const ctx = makeContext(state, path, depth, hints);
  // Raw payload (tensor storages) is only checked for magic bytes: never read beyond its head.
  const head = await readRange(source, 0, Math.min(hints.payload ? 512 : 65536, source.size));
  const name = basename(path.split('!').pop() ?? path);
  // A parent's layout hint (PyTorch legacy tar members) goes to the analyzer that claims it alone.
  const matched = ANALYZERS.filter((a) => a.claims?.(hints) === true);
  for (const a of matched.length > 0 ? [] : ANALYZERS) {
    try {
      if (await a.detect(head, source, name, hints)) matched.push(a);
    } catch (e) {
      handleError(state, path, e, a.id);
    }
  }
  if (hints.expectPickle && !matched.includes(pickleAnalyzer)) matched.push(pickleAnalyzer);
  const addFormat = (f: string) => {
    if (!state.formats.includes(f)) state.formats.push(f);
  };
  const aborted = state.aborted;
  if (matched.length === 0) {
    if (source.size === 0) addFormat('empty');
    else {
      addFormat('unknown');
      // Unrecognised content may still hide a pickle (renamed, prefixed with junk): search it,
      // unless the parent knows it is raw payload no loader deserialises.
      if (!hints.payload) {
        try {
          await Promise.race([searchEmbeddedPickles(source, ctx), aborted]);
        } catch (e) {
          handleError(state, path, e, 'embedded-pickle-search');
        }
      }
    }
    return;
  }
  for (const a of matched) {
    addFormat(a.format);
    try {
      await Promise.race([a.analyze(source, ctx), aborted]);
    } catch (e) {
      handleError(state, path, e, a.id);
      if (state.timedOut) return;
    }
  }
  // Formats whose analyzers do not account for every byte (metadata formats) may still carry a
  // pickle after their header: search small files too.
  if (!hints.payload && source.size <= EMBEDDED_SEARCH_MAX && !matched.some((a) => COVERS_ALL_BYTES.has(a.id))) {
    try {
      await Promise.race([searchEmbeddedPickles(source, ctx), aborted]);
    } catch (e) {
      handleError(state, path, e, 'embedded-pickle-search');
    }
  }
}

/** Analyzers that account for every byte of what they recognise (or scan it as children). */
const COVERS_ALL_BYTES = new Set(['pickle', 'zip', 'tar', 'gzip', 'zlib', 'bzip2', 'xz', 'npy', 'torch-legacy']);
/** Largest recognised non-container file also searched for embedded pickles. */
const EMBEDDED_SEARCH_MAX = 64 * 1024 * 1024;

/** Scans one in-memory buffer as if it were a file (tests, fuzzing, library callers). */
export async function scanBuffer(bytes: Uint8Array, name: string, partial: Partial<EngineOptions> = {}, logger: Logger = silentLogger()): Promise<{ result: FileResult; findings: Finding[] }> {
  const options = resolveScanOptions(partial);
  return scanOne(name, options, logger, async () => ({ source: new BufferByteSource(bytes), close: async () => undefined }));
}

async function scanOne(
  file: string,
  options: EngineOptions,
  logger: Logger,
  openSource: () => Promise<{ source: ByteSource; close: () => Promise<void> }>,
): Promise<{ result: FileResult; findings: Finding[] }> {
  const started = performance.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new ScanTimeoutError()), options.limits.timeoutMs);
  const state = newState(file, options, logger, ac.signal);
  let size = 0;
  try {
    let opened: { source: ByteSource; close: () => Promise<void> } | undefined;
    try {
      opened = await openSource();
    } catch (e) {
      addFinding(state, file, { ruleId: 'RMP-SCAN-001', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
    if (opened) {
      size = opened.source.size;
      try {
        await scanSource(state, opened.source, file, 0, {});
      } catch (e) {
        handleError(state, file, e, 'engine');
      } finally {
        await opened.close().catch(() => undefined);
      }
    }
  } finally {
    clearTimeout(timer);
    state.closed = true;
  }
  if (!state.complete && !state.findings.some((f) => getRule(f.ruleId)?.incomplete)) state.complete = false;
  return {
    result: { file, formats: state.formats, size, complete: state.complete, durationMs: Math.round(performance.now() - started) },
    findings: state.findings,
  };
}

interface Target {
  path: string;
  kind: 'file' | 'symlink' | 'special' | 'unreadable-dir';
  note?: string;
  outside?: boolean;
}

async function collect(paths: string[]): Promise<Target[]> {
  const out: Target[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p); // a path named by the user is followed even when it is a link
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileNotFoundError(`no such file or directory: ${p}`, { details: { path: p } });
      out.push({ path: p, kind: 'unreadable-dir', note: code ?? 'error' });
      continue;
    }
    if (st.isDirectory()) await walk(p, await realpath(p), out);
    else if (st.isFile()) out.push({ path: p, kind: 'file' });
    else out.push({ path: p, kind: 'special' });
  }
  return out;
}

async function walk(dir: string, root: string, out: Target[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    out.push({ path: dir, kind: 'unreadable-dir', note: (e as NodeJS.ErrnoException).code ?? 'error' });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ent of entries) {
    const full = join(dir, ent.name);
    if (ent.isSymbolicLink()) {
      let target = '?';
      let outside = true;
      try {
        target = await readlink(full);
        const real = await realpath(resolve(dirname(full), target));
        outside = !(real === root || real.startsWith(root + sep));
      } catch {
        outside = true;
      }
      out.push({ path: full, kind: 'symlink', note: target, outside });
    } else if (ent.isDirectory()) await walk(full, root, out);
    else if (ent.isFile()) out.push({ path: full, kind: 'file' });
    else out.push({ path: full, kind: 'special' });
  }
}

/**
 * Scans files and directories and returns the report. Throws FileNotFoundError when a named path
 * does not exist; every other problem becomes a finding.
 *
 * @example
 * const report = await scanPaths(['models/'], { denyGlobals: ['mypkg.*'] });
 */
export async function scanPaths(paths: string[], partial: Partial<EngineOptions> = {}, logger: Logger = silentLogger()): Promise<ScanReport> {
  const options = resolveScanOptions(partial);
  const startedAt = new Date();
  const t0 = performance.now();
  const targets = await collect(paths);
  const files: FileResult[] = new Array<FileResult>(targets.length);
  const findings: Finding[][] = new Array<Finding[]>(targets.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= targets.length) return;
      const t = targets[i]!;
      if (t.kind === 'file') {
        const { result, findings: f } = await scanOne(t.path, options, logger, async () => {
          const fh = await open(t.path, 'r');
          try {
            const st = await fh.stat();
            const source = new FileByteSource(fh, st.size);
            return {
              source,
              close: () => {
                if (options.stats) options.stats.bytesRead += source.bytesRead;
                return fh.close();
              },
            };
          } catch (e) {
            await fh.close();
            throw e;
          }
        });
        files[i] = result;
        findings[i] = f;
        continue;
      }
      const f: Finding[] = [];
      let complete = true;
      const rule = (id: string) => getRule(id)!;
      if (t.kind === 'symlink') {
        f.push({
          ruleId: 'RMP-SCAN-005',
          severity: t.outside ? 'medium' : 'low',
          file: t.path,
          message: t.outside ? `symbolic link to ${t.note} (outside the scanned tree or dangling) not followed` : `symbolic link to ${t.note} not followed (its target is inside the scanned tree)`,
          remediation: rule('RMP-SCAN-005').remediation,
          details: { target: t.note },
        });
      } else if (t.kind === 'special') {
        f.push({ ruleId: 'RMP-SCAN-007', severity: 'medium', file: t.path, message: 'special file (device, FIFO or socket) not read', remediation: rule('RMP-SCAN-007').remediation });
      } else {
        complete = false;
        f.push({ ruleId: 'RMP-SCAN-001', severity: 'high', file: t.path, message: `cannot read: ${t.note ?? 'error'}`, remediation: rule('RMP-SCAN-001').remediation });
      }
      files[i] = { file: t.path, formats: [t.kind], size: 0, complete, durationMs: 0 };
      findings[i] = f;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, Math.max(1, targets.length)) }, worker));
  return {
    tool: { name: 'rampart', version: options.version },
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    files,
    findings: findings.flat(),
    suppressed: 0,
  };
}
