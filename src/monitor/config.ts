// The `monitoring` section of the gateway config (documented in docs/config.md, "Monitoring"):
// events retention, the built-in detectors' parameters, user rules, alert policy and sinks.
import { z } from 'zod';
import { parseDuration } from '../core/units.js';
import { SEVERITIES } from '../core/types.js';
import { detectorsSchema } from './detectors/index.js';

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A user rule: filter events, aggregate over a sliding window per group, alert above a threshold. */
export const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule ids are lowercase letters, digits and dashes'),
    /** Field path (`type`, `principal`, `data.status`, ...) → value, list of values, or comparison. */
    filter: z
      .record(
        z.union([
          scalar,
          z.array(scalar),
          z
            .object({ gte: z.number().optional(), lte: z.number().optional(), prefix: z.string().optional(), not: scalar.optional() })
            .strict(),
        ]),
      )
      .default({}),
    aggregate: z.enum(['count', 'sum', 'distinct']).default('count'),
    /** Field summed (`sum`) or whose distinct values are counted (`distinct`). */
    field: z.string().optional(),
    window: duration.default('5m'),
    groupBy: z.array(z.string()).default([]),
    threshold: z.number().positive(),
    severity: z.enum(SEVERITIES).default('medium'),
    /** Alert title; `{{value}}`, `{{threshold}}`, `{{window}}`, `{{rule}}` and `{{<groupBy field>}}` are replaced. */
    message: z.string().default('Rule {{rule}}: {{value}} ≥ {{threshold}} in {{window}}'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.aggregate !== 'count' && !r.field) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['field'], message: `aggregate ${r.aggregate} needs a field` });
  });
export type RuleConfig = z.output<typeof ruleSchema>;

const sinkCommon = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  /** Only alerts at or above this severity go to this sink. */
  minSeverity: z.enum(SEVERITIES).default('low'),
};

export const sinkSchema = z.discriminatedUnion('type', [
  z
    .object({
      ...sinkCommon,
      type: z.literal('webhook'),
      url: z.string().url(),
      /** Environment variable holding the HMAC-SHA256 signing secret (never the secret itself). */
      secretEnv: z.string().optional(),
      timeout: duration.default('10s'),
    })
    .strict(),
  z.object({ ...sinkCommon, type: z.literal('slack'), url: z.string().url(), timeout: duration.default('10s') }).strict(),
  z.object({ ...sinkCommon, type: z.literal('file'), path: z.string() }).strict(),
  z.object({ ...sinkCommon, type: z.literal('stdout') }).strict(),
  z
    .object({
      ...sinkCommon,
      type: z.literal('syslog'),
      host: z.string(),
      port: z.number().int().min(1).max(65535).default(514),
      protocol: z.enum(['udp', 'tcp']).default('udp'),
      appName: z.string().default('rampart'),
    })
    .strict(),
]);
export type SinkConfig = z.output<typeof sinkSchema>;

export const monitoringSchema = z
  .object({
    enabled: z.boolean().default(false),
    events: z
      .object({
        /** Events older than this are deleted from the store. */
        retention: duration.default('30d'),
        /** Largest number of events waiting on the bus before new ones are dropped (and counted). */
        queueCapacity: z.number().int().positive().default(10_000),
        /** Persist events in the store. */
        persist: z.boolean().default(true),
        /**
         * At start-up, replay this much stored history through the detectors (without alerting) so
         * baselines, known networks and usual hours survive a restart. 0 turns it off.
         */
        warmup: duration.default('7d'),
        /**
         * How often events that other processes wrote to the store (`rampart scan --events-store`,
         * `rampart keys`) are read and fed to the detectors and rules. 0 turns it off.
         */
        importInterval: duration.default('5s'),
        /** Most events replayed at start-up (oldest first; a warning says when the limit cut the replay short). */
        warmupMaxEvents: z.number().int().nonnegative().default(2_000_000),
      })
      .strict()
      .default({}),
    detectors: detectorsSchema,
    rules: z.array(ruleSchema).default([]),
    alerts: z
      .object({
        /** Most notifications sent per minute over all alerts; excess alerts are stored but not notified. */
        maxNotificationsPerMinute: z.number().int().positive().default(30),
        /** Re-notify an alert that is still open after this long without news when it fires again. */
        renotifyAfter: duration.default('6h'),
      })
      .strict()
      .default({}),
    delivery: z
      .object({
        /** First retry delay; doubles per attempt up to `maxBackoff`. */
        initialBackoff: duration.default('1s'),
        maxBackoff: duration.default('5m'),
        /** How often the outbox is polled. */
        pollInterval: duration.default('1s'),
      })
      .strict()
      .default({}),
    sinks: z.array(sinkSchema).default([]),
  })
  .strict()
  .default({});
export type MonitoringConfig = z.output<typeof monitoringSchema>;
