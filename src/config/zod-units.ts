// zod types for human-friendly durations and sizes in config files ("30s", "1mb"), shared by
// every config schema (gateway, scan, ...). They turn a parse error into a zod issue.
import { z } from 'zod';
import { parseDuration, parseSize } from '../core/units.js';

function unit(parse: (v: string | number) => number) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** A duration in milliseconds, written as "250ms", "30s", "5m", "2h", "30d" or a number. */
export const duration = unit(parseDuration);
/** A size in bytes, written as "512kb", "1mb", "2g" or a number. */
export const size = unit(parseSize);
