// Baseline files: a list of reviewed findings to accept. A finding matches an entry by rule id,
// file and a fingerprint of where it is and what it names (offset, record, global) — not of its
// message text, so rewording a message does not invalidate a baseline. Written whole or not at all
// (src/core/replace-file.ts: a device or FIFO is written directly, a symbolic link followed).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileReplacing } from '../core/replace-file.js';
import type { Finding } from '../core/types.js';
import { ScanBaselineInvalidError } from './errors.js';

export const BASELINE_VERSION = 1;

export interface BaselineEntry {
  ruleId: string;
  file: string;
  fingerprint: string;
  /** Free text for reviewers (kept when rewriting by hand; ignored for matching). */
  note?: string;
}

export interface Baseline {
  rampartScanBaseline: number;
  findings: BaselineEntry[];
}

export function fingerprint(f: Finding): string {
  const d = f.details ?? {};
  const what = [d.global, d.callee, d.code, d.target].filter((x) => x !== undefined).map(String).join('|');
  const key = [f.ruleId, f.file, f.location?.offset ?? '', f.location?.record ?? '', f.location?.line ?? '', f.location?.row ?? '', what].join('\u0000');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export function makeBaseline(findings: Finding[]): Baseline {
  const seen = new Set<string>();
  const entries: BaselineEntry[] = [];
  for (const f of findings) {
    const e = { ruleId: f.ruleId, file: f.file, fingerprint: fingerprint(f) };
    const k = `${e.ruleId}\u0000${e.file}\u0000${e.fingerprint}`;
    if (seen.has(k)) continue;
    seen.add(k);
    entries.push(e);
  }
  entries.sort((a, b) => a.file.localeCompare(b.file) || a.ruleId.localeCompare(b.ruleId) || a.fingerprint.localeCompare(b.fingerprint));
  return { rampartScanBaseline: BASELINE_VERSION, findings: entries };
}

export function readBaseline(file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ScanBaselineInvalidError(`cannot read baseline ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const b = raw as Partial<Baseline>;
  if (!b || b.rampartScanBaseline !== BASELINE_VERSION || !Array.isArray(b.findings)) {
    throw new ScanBaselineInvalidError(`${file} is not a Rampart scan baseline (version ${BASELINE_VERSION})`);
  }
  for (const e of b.findings) {
    if (typeof e?.ruleId !== 'string' || typeof e.file !== 'string' || typeof e.fingerprint !== 'string') {
      throw new ScanBaselineInvalidError(`${file}: every entry needs ruleId, file and fingerprint`);
    }
  }
  return b as Baseline;
}

/** Writes `baseline` to `file` (`--write-baseline`); see the module comment for special targets. */
export function writeBaselineFile(file: string, baseline: Baseline): void {
  writeFileReplacing(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** Splits findings into those the baseline accepts and the rest. */
export function applyBaseline(findings: Finding[], baseline: Baseline): { kept: Finding[]; suppressed: Finding[] } {
  const keys = new Set(baseline.findings.map((e) => `${e.ruleId}\u0000${e.file}\u0000${e.fingerprint}`));
  const kept: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const f of findings) (keys.has(`${f.ruleId}\u0000${f.file}\u0000${fingerprint(f)}`) ? suppressed : kept).push(f);
  return { kept, suppressed };
}
