// The scan configuration file (`rampart.scan.yaml`, passed with --config): allow/deny-list
// extensions, the failing severity, concurrency and limits. Validated once with zod, unknown keys
// rejected; documented in docs/scan.md.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SEVERITIES } from '../core/types.js';
import { duration, size } from '../config/zod-units.js';
import { ScanConfigInvalidError } from './errors.js';
import type { ScanLimits } from './types.js';

/** `module.name`, `module.Class.attr` or `module.*`. */
export const GLOBAL_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?$/;
const globalPattern = z.string().regex(GLOBAL_PATTERN, 'expected module.name or module.*');

export const scanConfigSchema = z
  .object({
    allowGlobals: z.array(globalPattern).default([]),
    denyGlobals: z.array(globalPattern).default([]),
    failOn: z.enum(SEVERITIES).optional(),
    jobs: z.number().int().min(1).max(64).optional(),
    limits: z
      .object({
        maxDepth: z.number().int().min(1).max(64).optional(),
        maxDecompressedBytes: size.optional(),
        maxTotalDecompressedBytes: size.optional(),
        maxArchiveEntries: z.number().int().min(1).optional(),
        maxHeaderBytes: size.optional(),
        maxPickleOps: z.number().int().min(1000).optional(),
        timeout: duration.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export interface ScanConfig {
  allowGlobals: string[];
  denyGlobals: string[];
  failOn?: (typeof SEVERITIES)[number];
  jobs?: number;
  limits: Partial<ScanLimits>;
}

export function parseScanConfig(raw: unknown, label = 'scan config'): ScanConfig {
  const r = scanConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new ScanConfigInvalidError(`${label}: ${first.path.join('.') || '(root)'}: ${first.message}`, {
      details: { issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  const { timeout, ...rest } = r.data.limits;
  const limits: Partial<ScanLimits> = { ...rest };
  if (timeout !== undefined) limits.timeoutMs = timeout;
  for (const k of Object.keys(limits) as (keyof ScanLimits)[]) if (limits[k] === undefined) delete limits[k];
  return Object.freeze({ allowGlobals: r.data.allowGlobals, denyGlobals: r.data.denyGlobals, failOn: r.data.failOn, jobs: r.data.jobs, limits });
}

export function loadScanConfig(file: string): ScanConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScanConfigInvalidError(`cannot read scan config ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ScanConfigInvalidError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return parseScanConfig(raw, file);
}
