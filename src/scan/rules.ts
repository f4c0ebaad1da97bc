// The one registry of scanner rules. Every finding names a rule registered here; registering an id
// twice throws. Analyzer modules declare their rules with `defineRules` at import time, and
// analyzers/index.ts imports every analyzer, so importing it yields the complete list (docs/rules.md
// is kept in step with `allRules()` by a test).
import type { Rule } from './types.js';

/** A rule plus engine facts that are not part of the public Rule contract. */
export interface RuleDef extends Rule {
  /** A finding of this rule means the file was not fully scanned (FileResult.complete = false). */
  incomplete?: boolean;
}

const registry = new Map<string, RuleDef>();

/** Registers rules; throws on a duplicate or malformed id. Returns them for local use. */
export function defineRules<T extends readonly RuleDef[]>(rules: T): T {
  for (const r of rules) {
    if (!/^RMP-[A-Z0-9]+-\d{3}$/.test(r.id)) throw new Error(`malformed rule id ${r.id}`);
    if (registry.has(r.id)) throw new Error(`duplicate rule id ${r.id}`);
    registry.set(r.id, Object.freeze({ ...r }));
  }
  return rules;
}

export function getRule(id: string): RuleDef | undefined {
  return registry.get(id);
}

/** Every registered rule, sorted by id. */
export function allRules(): RuleDef[] {
  return [...registry.values()].sort((a, b) => a.id.localeCompare(b.id));
}

const DOCS = 'docs/rules.md';

/** Rules of the engine itself: things that stop a file from being fully scanned. */
export const SCAN_RULES = defineRules([
  {
    id: 'RMP-SCAN-001',
    severity: 'high',
    title: 'File could not be read',
    description: 'The file (or an archive member) could not be opened or read, so nothing about its content is known.',
    remediation: 'Check permissions and storage; a file that cannot be scanned must not be loaded.',
    links: [DOCS],
    incomplete: true,
  },
  {
    id: 'RMP-SCAN-002',
    severity: 'high',
    title: 'Scan time budget exceeded',
    description: 'Scanning the file took longer than the per-file time budget (`limits.timeoutMs`); the rest of it was not analysed.',
    remediation: 'Raise the time budget for trusted large files, or treat the file as untrusted.',
    links: [DOCS],
    incomplete: true,
  },
  {
    id: 'RMP-SCAN-003',
    severity: 'high',
    title: 'Scan limit exceeded',
    description:
      'A resource limit (nesting depth, decompressed bytes, archive entries, header size or pickle operations) was reached. Hostile files use huge or deeply nested content to exhaust scanners; the part beyond the limit was not analysed.',
    remediation: 'Inspect the file by hand, or raise the limit in rampart.scan.yaml if the file is trusted and legitimately large.',
    links: [DOCS],
    incomplete: true,
  },
  {
    id: 'RMP-SCAN-004',
    severity: 'high',
    title: 'Analyzer failed',
    description: 'An analyzer stopped with an unexpected error on this content; the file was not fully scanned.',
    remediation: 'Report the problem with the logged error code; do not load the file until it scans cleanly.',
    links: [DOCS],
    incomplete: true,
  },
  {
    id: 'RMP-SCAN-005',
    severity: 'medium',
    title: 'Symbolic link not followed',
    description:
      'A symbolic link met while walking a directory is reported and not followed. Loading code that follows it would read a file this scan did not cover (when the target lies outside the scanned tree) or covered under another name.',
    remediation: 'Scan the link target explicitly, or replace the link by the file itself.',
    links: [DOCS],
  },
  {
    id: 'RMP-SCAN-006',
    severity: 'high',
    title: 'Unsupported encoding, content not scanned',
    description: 'The content is encrypted or compressed with a method the scanner cannot decode, so it could not be analysed.',
    remediation: 'Decrypt or recompress the content with a supported method (stored/deflate, gzip, bz2, xz, lzma) and scan again.',
    links: [DOCS],
    incomplete: true,
  },
  {
    id: 'RMP-SCAN-007',
    severity: 'medium',
    title: 'Special file not scanned',
    description: 'A device, FIFO or socket was found while walking a directory; it was not read.',
    remediation: 'Remove special files from model directories.',
    links: [DOCS],
  },
] as const satisfies readonly RuleDef[]);
