// A small, real AnalyzeContext for unit tests of the model-format analyzers: it collects findings
// and records children (with their bytes) instead of scanning them, so a test can assert exactly
// what an analyzer reported and what it handed on.
import { BufferByteSource } from '../../byte-source.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import type { Analyzer, AnalyzeContext, ByteSource, FindingInput, ScanHints, ScanLimits, ScanOptions } from '../../types.js';
import { readRange } from '../model-io.js';

export interface RecordedChild {
  name: string;
  bytes: Uint8Array;
  hints?: ScanHints;
}

export class RecordingContext implements AnalyzeContext {
  readonly findings: FindingInput[] = [];
  readonly children: RecordedChild[] = [];
  readonly options: ScanOptions;
  readonly signal: AbortSignal;
  constructor(
    readonly path = 'sample',
    readonly depth = 0,
    readonly limits: ScanLimits = { ...DEFAULT_LIMITS },
    signal?: AbortSignal,
    readonly hints?: ScanHints,
  ) {
    this.options = { allowGlobals: [], denyGlobals: [], limits: this.limits };
    this.signal = signal ?? new AbortController().signal;
  }
  report(finding: FindingInput): void {
    this.findings.push(finding);
  }
  async scanChild(name: string, source: ByteSource, hints?: ScanHints): Promise<void> {
    this.children.push({ name, bytes: await readRange(source, 0, Math.min(source.size, 64 * 1024 * 1024)), hints });
  }
  /** Rule ids reported, in order. */
  get ruleIds(): string[] {
    return this.findings.map((f) => f.ruleId);
  }
}

export function memorySource(bytes: Uint8Array): BufferByteSource {
  return new BufferByteSource(bytes);
}

/** Runs detect then analyze on bytes, as the engine would; returns the context. */
export async function runAnalyzer(analyzer: Analyzer, bytes: Uint8Array, name = 'sample'): Promise<RecordingContext & { detected: boolean }> {
  const ctx = new RecordingContext(name) as RecordingContext & { detected: boolean };
  const src = memorySource(bytes);
  ctx.detected = await analyzer.detect(bytes.subarray(0, 65536), src, name);
  await analyzer.analyze(src, ctx);
  return ctx;
}
