// The `datasets:` section of the gateway config (docs/datasets.md, "Ingestion route"; docs/config.md):
// each dataset that `POST /v1/datasets/{name}/records` accepts, with its trusted baseline, the
// ingest guard's thresholds, what is stored, which events are published, and the attributes of
// its Cedar resource (Rampart::Dataset). Baselines are read and checked at start-up.
import { z } from 'zod';
import { SEVERITIES } from '../core/types.js';

const attrValue = z.union([z.string(), z.number().int(), z.boolean()]);

export const datasetIngestSchema = z
  .object({
    /** URL name (`/v1/datasets/{name}/records`) and Cedar resource id. */
    name: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'dataset names use letters, digits and . _ -'),
    /** Trusted baseline from `rampart dataset baseline` (relative to the config file). */
    baseline: z.string().min(1),
    /** Label field of the records; default the baseline's label column. */
    label: z.string().optional(),
    thresholds: z
      .object({
        /** A record with a finding at or above this severity is quarantined. */
        quarantineAt: z.enum(SEVERITIES).default('medium'),
        /** Robust |z| above which a value is an outlier (RMP-DATA-030). */
        zThreshold: z.number().positive().default(10),
        /** Range margin as a share of the baseline span (RMP-DATA-004). */
        rangeMargin: z.number().min(0).default(0.1),
        /** Robust distance score above which a record is a multivariate outlier (RMP-DATA-031); default the baseline's calibrated threshold. */
        multivariateScore: z.number().positive().optional(),
        /** Feature hashes of recently accepted records remembered per dataset and process (RMP-DATA-010/011); 0 turns the check off. */
        recentRecords: z.number().int().min(0).max(10_000_000).default(100_000),
        /** Class balance of the stream (RMP-DATA-007) over the last `window` accepted labels; `false` turns it off. */
        labelBalance: z
          .union([
            z.literal(false),
            z
              .object({
                window: z.number().int().min(10).max(1_000_000).default(500),
                minCount: z.number().int().min(10).default(100),
                pValue: z.number().gt(0).lt(1).default(1e-3),
                minChange: z.number().gt(0).max(1).default(0.1),
              })
              .strict()
              .refine((b) => b.minCount <= b.window, 'labelBalance.minCount must not exceed labelBalance.window'),
          ])
          .default({}),
      })
      .strict()
      .default({}),
    storage: z
      .object({
        /** `store`: keep accepted records in the store; `none`: only answer (quarantined records are always kept). */
        accepted: z.enum(['store', 'none']).default('store'),
      })
      .strict()
      .default({}),
    /** Most records in one request (JSON array or JSON Lines). */
    maxRecords: z.number().int().min(1).max(100_000).default(1000),
    events: z
      .object({
        /** Share of accepted records also published as `data.record` events with their numeric features (input drift). 0–1. */
        sampleAccepted: z.number().min(0).max(1).default(0),
      })
      .strict()
      .default({}),
    /**
     * Limits on ingestion into this dataset, over all callers (as a model's `quotas`; tokens do not
     * apply). Each caller's own `quotas.defaultPrincipal` / `quotas.principals` limits apply as well.
     */
    quotas: z
      .object({
        requestsPerMinute: z.number().positive().optional(),
        burst: z.number().int().positive().optional(),
        concurrent: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** Attributes of the Cedar resource Rampart::Dataset (owner, sensitivity, ...). `name` is reserved. */
    attributes: z.record(attrValue).default({}),
  })
  .strict();

export type DatasetIngestConfig = z.output<typeof datasetIngestSchema>;
