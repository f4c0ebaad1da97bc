// The pickle analyzer: finds pickles by content (PROTO header, or a stream of valid opcodes), runs
// every pickle of a stream through the symbolic machine, reports what they import and call,
// follows joblib arrays, scans nested pickles held in byte strings as children, and searches data
// after the last pickle for embedded ones. Exposed helpers are used by the PyTorch, NumPy and
// joblib analyzers and by the engine's search of unrecognised files.
import type { Analyzer, AnalyzeContext, ByteSource } from '../../types.js';
import { BufferByteSource, SliceByteSource } from '../../byte-source.js';
import { runPickle, StreamReader, type MachineOptions, type PickleRun } from './machine.js';
import { reportRun } from './report-run.js';
import { joblibHooks, type JoblibState } from './joblib.js';
import { OPCODES } from './opcodes.js';
import { looksLikeKnownContainer, startsWith } from '../magic.js';

const TORCH_LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
import './rules.js';
import { ScanTimeoutError } from '../../errors.js';

export interface PickleStreamOptions {
  start?: number;
  end?: number;
  loader?: 'torch' | 'joblib' | 'numpy';
  /** Stop after this many pickles (PyTorch legacy files hold exactly five before raw data). */
  maxPickles?: number;
  /** What to do with bytes after the last pickle. */
  trailing?: 'search' | 'ignore';
  /** Prefix for messages. */
  prefix?: string;
  ignoreBreak?: boolean;
}

export interface PickleStreamResult {
  runs: PickleRun[];
  /** Offset after the last complete pickle. */
  end: number;
  /** True when every pickle ended with STOP. */
  ok: boolean;
}

export function machineOptions(ctx: AnalyzeContext, extra: Partial<MachineOptions> = {}): MachineOptions {
  return {
    policy: { allow: ctx.options.allowGlobals, deny: ctx.options.denyGlobals },
    maxOps: ctx.limits.maxPickleOps,
    signal: ctx.signal,
    ...extra,
  };
}

/** Scans nested byte strings that look like pickles or containers as children. */
async function scanNested(run: PickleRun, source: ByteSource, ctx: AnalyzeContext): Promise<void> {
  for (const n of run.nestedBytes) {
    if (looksLikePickleHead(n.head) || looksLikeKnownContainer(n.head)) {
      await ctx.scanChild(`bytes@${n.off}`, new SliceByteSource(source, n.off, n.len));
    }
  }
}

/** Runs all pickles of [start, end) in sequence and reports them. */
export async function scanPickleStream(source: ByteSource, ctx: AnalyzeContext, o: PickleStreamOptions = {}): Promise<PickleStreamResult> {
  const start = o.start ?? 0;
  const end = o.end ?? source.size;
  const reader = new StreamReader(source, start, end);
  const runs: PickleRun[] = [];
  let ok = true;
  let last = start;
  const joblib: JoblibState = { arrays: [], issues: [] };
  const opts = machineOptions(ctx, { hooks: joblibHooks(joblib) });
  joblib.nested = async (r) => {
    const nested = await runPickle(r, opts);
    reportRun(nested, ctx, { loader: o.loader, prefix: o.prefix });
    await scanNested(nested, source, ctx);
  };
  while (reader.pos < end) {
    if (o.maxPickles !== undefined && runs.length >= o.maxPickles) break;
    const pos = reader.pos;
    const run = await runPickle(reader, opts);
    runs.push(run);
    const isTrailing = !run.ok && runs.length > 1 && run.error?.off === pos;
    if (isTrailing) {
      reader.pos = pos;
      break;
    }
    reportRun(run, ctx, { loader: o.loader, prefix: o.prefix, ignoreBreak: o.ignoreBreak });
    await scanNested(run, source, ctx);
    if (!run.ok) {
      ok = false;
      // What follows a break is never executed by this loader, but may be by another one: search it.
      const from = Math.max(run.error?.off ?? pos, pos) + 1;
      if (from < end) await searchEmbeddedPickles(source, ctx, from, end);
      return { runs, end: run.end, ok };
    }
    last = run.end;
    reader.pos = run.end;
  }
  for (const issue of joblib.issues) {
    ctx.report({ ruleId: 'RMP-PICKLE-017', message: issue.reason, location: { offset: issue.off } });
  }
  if (joblib.arrays.some((a) => !a.objectDtype)) {
    // Under plain pickle.load (not joblib.load) the array bytes are read as opcodes: analyse that
    // interpretation too, reporting what it finds inside the array regions.
    const within = joblib.arrays.filter((a) => !a.objectDtype).map((a) => [a.off, a.off + a.len] as [number, number]);
    const plain = new StreamReader(source, start, end);
    while (plain.pos < end) {
      const r = await runPickle(plain, machineOptions(ctx));
      reportRun(r, ctx, { within, ignoreBreak: true, prefix: 'read as plain pickle: ' });
      if (!r.ok) break;
      plain.pos = r.end;
    }
  }
  if (o.trailing !== 'ignore' && last < end && ok && reader.pos < end) {
    ctx.report({ ruleId: 'RMP-PICKLE-011', message: `${end - reader.pos} bytes follow the last pickle`, location: { offset: reader.pos } });
    await searchEmbeddedPickles(source, ctx, reader.pos, end);
  }
  return { runs, end: last, ok };
}

/** Cheap test of the first bytes: protocol 2+ header, or a plausible protocol 0/1 opcode stream. */
export function looksLikePickleHead(head: Uint8Array): boolean {
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return true;
  return false;
}

/** Content test used by the analyzer and the engine: a short probe run over the head. */
export async function probePickle(head: Uint8Array, ctx?: Pick<AnalyzeContext, 'options'>): Promise<boolean> {
  if (head.length === 0) return false;
  if (looksLikePickleHead(head)) return true;
  if (!OPCODES[head[0]!]) return false;
  const src = new BufferByteSource(head);
  const run = await runPickle(new StreamReader(src, 0, head.length), {
    policy: { allow: ctx?.options.allowGlobals ?? [], deny: ctx?.options.denyGlobals ?? [] },
    maxOps: 100_000,
    maxLine: 4096,
  });
  if (run.ok) return run.ops >= 2;
  if (run.imports.length > 0 || run.dynamicGlobals.length > 0) return true;
  // Truncated only because the head ended, after a fair number of valid opcodes.
  return run.ops >= 16 && run.error !== undefined && run.error.off >= head.length - 16;
}

const MAX_PROBES = 200_000;
const CHUNK = 4 * 1024 * 1024;
const OVERLAP = 1024;

/**
 * Searches [start, end) for pickles hidden in other data: protocol headers, GLOBAL/INST lines and
 * STACK_GLOBAL fed by string opcodes. Each candidate is run by the machine; candidates that import
 * anything are reported (RMP-PICKLE-012 plus what they import and call).
 */
export async function searchEmbeddedPickles(source: ByteSource, ctx: AnalyzeContext, start = 0, end = source.size, straddle?: number): Promise<number> {
  let found = 0;
  let probes = 0;
  let skipUntil = start;
  for (let chunkStart = start; chunkStart < end; chunkStart += CHUNK) {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
    const len = Math.min(CHUNK + OVERLAP, end - chunkStart);
    const buf = await source.read(chunkStart, len);
    const limit = Math.min(buf.length, CHUNK);
    for (let i = 0; i < limit; i++) {
      if ((i & 0xffff) === 0xffff) {
        await new Promise<void>((r) => setImmediate(r));
        if (ctx.signal.aborted) throw new ScanTimeoutError();
      }
      const abs = chunkStart + i;
      if (abs < skipUntil) continue;
      const c = buf[i]!;
      let candidate = -1;
      if (c === 0x80 && i + 1 < buf.length && buf[i + 1]! >= 2 && buf[i + 1]! <= 5) candidate = abs;
      else if ((c === 0x63 || c === 0x69) && isGlobalLine(buf, i + 1)) candidate = abs;
      else if (c === 0x93) candidate = stackGlobalStart(buf, i, chunkStart);
      if (candidate < 0) continue;
      if ((probes & 0xfff) === 0xfff) {
        await new Promise<void>((r) => setImmediate(r));
        if (ctx.signal.aborted) throw new ScanTimeoutError();
      }
      if (++probes > MAX_PROBES) {
        ctx.report({ ruleId: 'RMP-SCAN-003', message: `more than ${MAX_PROBES} pickle-like sequences; search for embedded pickles stopped`, location: { offset: abs } });
        return found;
      }
      // Candidates are looked for inside the region; the pickle itself may run past its end.
      const reader = new StreamReader(source, candidate, source.size);
      const run = await runPickle(reader, machineOptions(ctx, { maxOps: 1_000_000, maxLine: 4096 }));
      if (run.imports.length === 0 && run.dynamicGlobals.length === 0) continue;
      // A text-style GLOBAL/INST line inside other data (a protobuf string followed by a tag byte
      // reads as one) that breaks without calling anything and imports nothing dangerous is not a
      // pickle a loader could run: skip it. Dangerous imports and any call still count.
      if (c !== 0x80 && c !== 0x93 && !run.ok && run.calls.length === 0 && run.dynamicGlobals.length === 0 && run.imports.every((im) => im.verdict.klass !== 'dangerous')) continue;
      // Before `straddle` lies member data scanned on its own: only pickles running out of it count.
      if (straddle !== undefined && candidate < straddle && run.end <= straddle) continue;
      found++;
      const risky = run.imports.some((im) => im.verdict.klass !== 'allowed') || run.dynamicGlobals.length > 0;
      ctx.report({
        ruleId: 'RMP-PICKLE-012',
        severity: risky ? 'high' : 'medium',
        message: `pickle embedded at offset ${candidate} imports ${run.imports.map((im) => `${im.module}.${im.name}`).slice(0, 5).join(', ')}`,
        location: { offset: candidate },
        details: { start: candidate, end: run.end },
      });
      reportRun(run, ctx, { ignoreBreak: true, prefix: `embedded pickle at ${candidate}: ` });
      skipUntil = Math.max(run.end, abs + 1);
    }
  }
  return found;
}

function isIdent(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
}

/** `module\nname\n` with identifier characters (what GLOBAL and INST take). */
function isGlobalLine(buf: Uint8Array, i: number): boolean {
  let lines = 0;
  let len = 0;
  for (let j = i; j < buf.length && j < i + 512; j++) {
    const c = buf[j]!;
    if (c === 0x0a) {
      if (len === 0) return false;
      if (++lines === 2) return true;
      len = 0;
    } else if (isIdent(c) || c === 0x20 || c === 0x0d) len++;
    else return false;
  }
  return false;
}

/**
 * For a STACK_GLOBAL byte, finds where the two string opcodes that feed it start (allowing
 * MEMOIZE/BINPUT between them); -1 when the preceding bytes are not such strings.
 */
function stackGlobalStart(buf: Uint8Array, i: number, base: number): number {
  for (let back = 2; back < 300 && i - back >= 0; back++) {
    const j = i - back;
    const c = buf[j]!;
    if (c !== 0x8c && c !== 0x58 && c !== 0x55 && c !== 0x56 && c !== 0x53 && c !== 0x54) continue;
    if (parsesAsStrings(buf, j, i)) return base + j;
  }
  return -1;
}

function parsesAsStrings(buf: Uint8Array, j: number, stop: number): boolean {
  let p = j;
  let strings = 0;
  while (p < stop) {
    const c = buf[p]!;
    if (c === 0x8c || c === 0x55) {
      p += 2 + (buf[p + 1] ?? 0);
      strings++;
    } else if (c === 0x58 || c === 0x54) {
      const n = (buf[p + 1] ?? 0) | ((buf[p + 2] ?? 0) << 8) | ((buf[p + 3] ?? 0) << 16) | ((buf[p + 4] ?? 0) << 24);
      if (n < 0 || n > 1024) return false;
      p += 5 + n;
      strings++;
    } else if (c === 0x56 || c === 0x53) {
      let q = p + 1;
      while (q < stop && buf[q] !== 0x0a) q++;
      p = q + 1;
      strings++;
    } else if (c === 0x94 || c === 0x30) p += 1;
    else if (c === 0x71 || c === 0x68) p += 2;
    else if (c === 0x72 || c === 0x6a) p += 5;
    else if (c === 0x70 || c === 0x67) {
      let q = p + 1;
      while (q < stop && buf[q] !== 0x0a) q++;
      p = q + 1;
    } else return false;
  }
  return p === stop && strings >= 2;
}

export const pickleAnalyzer: Analyzer = {
  id: 'pickle',
  format: 'pickle',
  detect(head, _source, _name) {
    // PyTorch legacy files start with a pickled magic number; torch-legacy.ts reads them whole.
    if (startsWith(head, TORCH_LEGACY_MAGIC)) return false;
    return probePickle(head);
  },
  async analyze(source: ByteSource, ctx: AnalyzeContext): Promise<void> {
    await scanPickleStream(source, ctx, { loader: ctx.hints?.loader });
  },
};

/**
 * Searches the bytes of `source` that no member or header covers (padding, gaps between members,
 * trailing data, archive comments) for embedded pickles: containers ignore those bytes, a renamed
 * or re-parsed file may not.
 */
export async function searchGaps(source: ByteSource, ctx: AnalyzeContext, covered: [number, number][]): Promise<void> {
  const spans = covered.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let pos = 0;
  // Each gap is searched from a little before it, for pickles that start inside the member before
  // it and run out of it (such a member alone does not hold the whole pickle).
  const BACK = 4096;
  let prevEnd = 0;
  for (const [a, b] of spans) {
    if (a > pos) await searchEmbeddedPickles(source, ctx, Math.max(prevEnd, pos - BACK), Math.min(a, source.size), pos);
    prevEnd = pos;
    pos = Math.max(pos, b);
  }
  if (pos < source.size) await searchEmbeddedPickles(source, ctx, Math.max(prevEnd, pos - BACK), source.size, pos);
}
