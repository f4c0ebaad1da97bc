// Contracts of the scanner: a ByteSource gives random access to the bytes of one file (on disk,
// inside an archive, or decompressed), an Analyzer recognises a format by content and turns its
// bytes into findings, a Rule describes one kind of finding. Analyzers never execute, import or
// deserialise what they scan.
import type { Finding, FindingLocation, Severity } from '../core/types.js';

/** Random-access, read-only view of one file's bytes. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Reads up to `length` bytes at `offset` (fewer only at end of file). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** One kind of finding, documented in docs/rules.md. */
export interface Rule {
  /** Stable id, e.g. `RMP-PICKLE-001`. Never reused for a different meaning. */
  id: string;
  /** Default severity (a finding may raise or lower it with a reason). */
  severity: Severity;
  /** Short title, one line. */
  title: string;
  description: string;
  remediation: string;
  links?: string[];
}

/** Resource limits applied to every scan (defaults in limits.ts, overridable in config). */
export interface ScanLimits {
  /** Deepest nesting of archives / compressed streams / nested pickles. */
  maxDepth: number;
  /** Most bytes produced by decompressing any one stream. */
  maxDecompressedBytes: number;
  /** Most bytes decompressed over a whole scan of one top-level file. */
  maxTotalDecompressedBytes: number;
  /** Most members of one archive. */
  maxArchiveEntries: number;
  /** Largest metadata/header read into memory (safetensors/GGUF headers, JSON configs, pickles). */
  maxHeaderBytes: number;
  /** Most opcodes executed per pickle. */
  maxPickleOps: number;
  /** Wall-clock budget per top-level file, in milliseconds. */
  timeoutMs: number;
}

export interface FindingInput {
  ruleId: string;
  /** Defaults to the rule's severity. */
  severity?: Severity;
  message: string;
  location?: FindingLocation;
  details?: Record<string, unknown>;
}

/** What an analyzer gets to do its work. */
export interface AnalyzeContext {
  /** Display path of the file being analysed (`outer.zip!inner/data.pkl`). */
  readonly path: string;
  /** Nesting depth (0 for a file on disk). */
  readonly depth: number;
  readonly limits: ScanLimits;
  /** Options from the scan configuration (allow/deny-list extensions and the like). */
  readonly options: ScanOptions;
  /** Aborted when the file's time budget is spent. */
  readonly signal: AbortSignal;
  report(finding: FindingInput): void;
  /**
   * Scans a member/child (archive entry, decompressed stream, nested pickle) with format
   * detection, as `${path}!${name}` one level deeper. Depth and size limits are enforced here.
   */
  scanChild(name: string, source: ByteSource, hints?: ScanHints): Promise<void>;
  /** Facts the parent passed down (e.g. "this is a PyTorch archive member"). Empty for files on disk. */
  readonly hints?: ScanHints;
  /**
   * Counts bytes produced by a decompressor against the per-stream and per-file limits; throws
   * ScanLimitError (which the engine turns into an RMP-SCAN-003 finding) when one is exceeded.
   */
  chargeDecompressed?(bytes: number): void;
  /** Adds a format name to the file's result (e.g. `pytorch` for a zip holding data.pkl). */
  noteFormat?(format: string): void;
}

/** Facts a parent analyzer passes to the scan of a child. */
export interface ScanHints {
  /**
   * The child is raw payload (e.g. a tensor storage in a PyTorch archive) that no loader
   * deserialises: when no format is recognised, it is not searched for embedded pickles.
   */
  payload?: boolean;
  /** Loader context of a pickle: `torch` allows persistent ids; `joblib` arrays follow their wrappers. */
  loader?: 'torch' | 'joblib' | 'numpy';
  /** The parent already knows this child is a pickle (e.g. `archive/data.pkl`). */
  expectPickle?: boolean;
  /** A layout only the parent knows how to read (PyTorch legacy tar members). */
  layout?: 'torch-legacy-storages' | 'torch-legacy-tensors';
}

/** A format analyzer. Registered in analyzers/index.ts. */
export interface Analyzer {
  /** Stable id, e.g. `pickle`, `safetensors`. */
  readonly id: string;
  /** Human name of the format. */
  readonly format: string;
  /**
   * Decides from content whether this analyzer handles the source. `head` is the first bytes of
   * the file (up to 64 KiB). Never decides by extension alone; `name` is only a hint.
   */
  detect(head: Uint8Array, source: ByteSource, name: string, hints?: ScanHints): boolean | Promise<boolean>;
  analyze(source: ByteSource, ctx: AnalyzeContext): Promise<void>;
  /** Optional: claims a child whose parent passed a layout hint, whatever its content. */
  claims?(hints: ScanHints): boolean;
}

export interface ScanOptions {
  /** Extra globals (`module.name` or `module.*`) treated as safe in pickles. */
  allowGlobals: string[];
  /** Extra globals treated as dangerous (critical) in pickles. */
  denyGlobals: string[];
  limits: ScanLimits;
}

/** Result of scanning one top-level path. */
export interface FileResult {
  /** Display path. */
  file: string;
  /** Formats recognised in it (outer first), e.g. ['zip', 'pytorch', 'pickle']. */
  formats: string[];
  size: number;
  /** False when the file could not be fully scanned (such a file always carries a finding). */
  complete: boolean;
  durationMs: number;
}

export interface ScanReport {
  tool: { name: 'rampart'; version: string };
  startedAt: string;
  durationMs: number;
  files: FileResult[];
  findings: Finding[];
  /** Findings suppressed by a baseline file, for transparency. */
  suppressed: number;
}
