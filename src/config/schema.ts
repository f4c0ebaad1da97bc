// The gateway configuration file: one zod schema per section, unknown keys rejected, defaults
// here and nowhere else. `loadConfig` (load.ts) validates once, resolves relative paths against
// the config file's folder and freezes the result; hot paths never re-validate.
//
// Every key is documented in docs/config.md; keep the two in step.
import { z } from 'zod';
import { duration, size } from './zod-units.js';
import { monitoringSchema } from '../monitor/config.js';
import { datasetIngestSchema } from '../dataset/ingest-config.js';

const attrValue = z.union([z.string(), z.number().int(), z.boolean()]);

export const tlsSchema = z
  .object({
    /** PEM certificate chain of the listener. Reloaded when the file changes. */
    cert: z.string(),
    key: z.string(),
    /** Lowest TLS version accepted. TLS 1.3 is always preferred when the client offers it. */
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** CA bundle that client certificates must chain to. Setting it enables mTLS. */
    clientCa: z.string().optional(),
    /** With clientCa: refuse the handshake without a valid client certificate. */
    requireClientCert: z.boolean().default(true),
    /** How often the cert, key and clientCa files are checked for changes (reloaded without dropping connections). */
    reloadInterval: duration.default('5s'),
  })
  .strict();

export const serverSchema = z
  .object({
    /** host:port to listen on. */
    listen: z.string().default('127.0.0.1:8443'),
    tls: tlsSchema.optional(),
    /** Serve plain HTTP. Must be set explicitly when tls is absent; logs a warning at start-up. */
    allowPlainHttp: z.boolean().default(false),
    /** Largest request body accepted (413 above). */
    bodyLimit: size.default('1mb'),
    /** Time allowed for a client to send the request headers (slowloris defence). */
    headersTimeout: duration.default('10s'),
    /** Time allowed for a client to send the whole request. */
    requestTimeout: duration.default('30s'),
    /** Idle keep-alive connections are closed after this time. */
    keepAliveTimeout: duration.default('65s'),
    /** Trust X-Forwarded-For from these proxy addresses or CIDR ranges when computing the source address. */
    trustedProxies: z
      .array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'expected an IP address or CIDR range'))
      .default([]),
    /** Adopt a well-formed `x-request-id` sent by the client instead of generating one. */
    trustRequestId: z.boolean().default(false),
    /** On shutdown, time allowed for in-flight requests to finish before connections are cut. */
    drainTimeout: duration.default('10s'),
    /**
     * HTTP/1.1 implementation serving requests: `rampart`, the gateway's own lean front for the
     * common strict subset of HTTP/1.1 (anything else on a connection is handed to node:http), or
     * `node` for node:http alone (docs/gateway.md, "HTTP front").
     */
    httpFront: z.enum(['rampart', 'node']).default('rampart'),
    /**
     * Gateway processes serving the listener: 1 (one process, the default), a number, or `auto` (one
     * per CPU). With more than one, a primary process owns the audit chain and the quota counters and
     * the workers ask it over IPC (docs/gateway.md, "Several processes").
     */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default(1),
  })
  .strict();

export const upstreamSchema = z
  .object({
    /** Base URL of the model server, e.g. https://10.0.0.5:8000 */
    url: z.string().url(),
    /** PEM CA bundle the upstream's certificate must chain to (pinning). */
    ca: z.string().optional(),
    /** Client certificate and key presented to the upstream (mTLS). */
    cert: z.string().optional(),
    key: z.string().optional(),
    /** Time to wait for the upstream's response headers (504 after). */
    timeout: duration.default('60s'),
    /** Retries on connection errors, only for idempotent calls (GET/HEAD). */
    retries: z.number().int().min(0).max(5).default(1),
    /** Name of the model on the upstream, when it differs from the public name. */
    model: z.string().optional(),
    /** Extra headers sent to the upstream (e.g. its own API key). Values may be `env:NAME`. */
    headers: z.record(z.string()).default({}),
    /** Connections kept per upstream. */
    connections: z.number().int().min(1).max(1024).default(64),
  })
  .strict();

export const quotaLimitsSchema = z
  .object({
    requestsPerMinute: z.number().positive().optional(),
    /** Burst size of the requests-per-minute token bucket (defaults to the per-minute rate). */
    burst: z.number().int().positive().optional(),
    concurrent: z.number().int().positive().optional(),
    tokensPerMinute: z.number().int().positive().optional(),
    tokensPerDay: z.number().int().positive().optional(),
  })
  .strict();
export type QuotaLimits = z.infer<typeof quotaLimitsSchema>;

export const modelSchema = z
  .object({
    /** Public model name: what clients send in `model` / the URL, and the Cedar resource id. */
    name: z.string().min(1).regex(/^[A-Za-z0-9._:/-]+$/, 'model names use letters, digits and . _ : / -'),
    protocol: z.enum(['openai', 'kserve-v2', 'generic']),
    upstream: upstreamSchema,
    /** Attributes of the Cedar resource (owner, sensitivity, environment, ...). */
    attributes: z.record(attrValue).default({}),
    /** Limits on this model, over all callers. */
    quotas: quotaLimitsSchema.optional(),
    description: z.string().optional(),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelSchema>;

export const jwtProviderSchema = z
  .object({
    issuer: z.string(),
    audience: z.union([z.string(), z.array(z.string())]),
    jwksUrl: z.string().url(),
    /** PEM CA for the JWKS endpoint when it uses a private CA. */
    jwksCa: z.string().optional(),
    algorithms: z.array(z.string()).default(['RS256', 'ES256', 'PS256', 'EdDSA']),
    clockSkew: duration.default('30s'),
    /** Least time between two JWKS refetches triggered by a token with an unknown `kid` (key rotation). */
    jwksCooldown: duration.default('30s'),
    /** Longest time a fetched JWKS is used before it is fetched again. */
    jwksCacheMaxAge: duration.default('10m'),
    /** Claim holding the principal id. */
    principalClaim: z.string().default('sub'),
    /** Claim (dotted path) holding roles or groups, a list or a space-separated string. */
    rolesClaim: z.string().default('roles'),
    /** Map claim values to Rampart roles; unmapped values are kept as they are. */
    roleMap: z.record(z.array(z.string())).default({}),
    /** Principal kind given to tokens of this issuer. */
    kind: z.enum(['user', 'service']).default('user'),
  })
  .strict();

export const mtlsIdentitySchema = z
  .object({
    /** Which certificate field names the principal. */
    principalFrom: z.enum(['subject.CN', 'san.uri', 'san.dns', 'san.email']).default('subject.CN'),
    /** Roles per principal id taken from certificates. */
    roles: z.record(z.array(z.string())).default({}),
    kind: z.enum(['user', 'service']).default('service'),
  })
  .strict();

export const authSchema = z
  .object({
    apiKeys: z
      .object({
        enabled: z.boolean().default(true),
      })
      .strict()
      .default({}),
    jwt: z.array(jwtProviderSchema).default([]),
    mtls: mtlsIdentitySchema.optional(),
  })
  .strict();

export const policySchema = z
  .object({
    /** Cedar policy files or folders (every *.cedar inside). */
    files: z.array(z.string()).min(1),
    /** Optional Cedar schema file; the built-in schema is used when absent. */
    schema: z.string().optional(),
  })
  .strict();

export const quotasSchema = z
  .object({
    /** Limits for each principal unless overridden. */
    defaultPrincipal: quotaLimitsSchema.default({}),
    /** Per-principal overrides, by principal id. */
    principals: z.record(quotaLimitsSchema).default({}),
  })
  .strict();

export const storeSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('sqlite'), path: z.string().default('rampart.db') }).strict(),
    z
      .object({
        type: z.literal('postgres'),
        url: z.string(),
        redisUrl: z.string().optional(),
      })
      .strict(),
  ])
  .default({ type: 'sqlite', path: 'rampart.db' });

export const auditSchema = z
  .object({
    /** Record request and response bodies in audit records (off: never). */
    includeBodies: z.boolean().default(false),
    /** Write a checkpoint of the chain head after this many records. */
    checkpointEvery: z.number().int().positive().default(1000),
    /** Largest number of records buffered before a synchronous flush. */
    flushEvery: z.number().int().positive().default(256),
    /**
     * With the embedded SQLite store (a file), chain and write the records on a worker thread, so
     * that inserts and WAL checkpoints never pause request handling (docs/audit.md).
     */
    thread: z.boolean().default(true),
  })
  .strict()
  .default({});

export const observabilitySchema = z
  .object({
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        path: z.string().default('/metrics'),
        /** Require an authenticated principal allowed the `admin` action to read metrics. */
        requireAuth: z.boolean().default(false),
      })
      .strict()
      .default({}),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict()
  .default({});

/** One inference guard (src/guards; docs/guards.md). The list order is the order of execution. */
export const guardConfigSchema = z
  .object({
    /** The guard kind (a factory in src/guards/registry.ts), e.g. `pii`. */
    type: z.string().min(1),
    /** Instance name, unique in the list; defaults to `type`. Shown in headers, metrics and the audit. */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'guard names use 1-64 letters, digits and . _ -').optional(),
    /** Globs over route ids (`openai.*`, `kserve.infer`); default: every route the guard supports. */
    routes: z.array(z.string().min(1)).min(1).optional(),
    /** Globs over public model names. */
    models: z.array(z.string().min(1)).min(1).default(['*']),
    /** enforce: act on verdicts; shadow: evaluate and record only (never block or rewrite). */
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    /** What a guard error or timeout does: block (fail closed) or allow (fail open). */
    onError: z.enum(['block', 'allow']).default('block'),
    /** Time limit of one check (request or response phase). */
    timeout: duration.default('500ms'),
    /** Options of the guard kind, validated by its schema at start-up. */
    options: z.record(z.unknown()).default({}),
  })
  .strict();
export type GuardConfig = z.infer<typeof guardConfigSchema>;

export const gatewayConfigSchema = z
  .object({
    server: serverSchema.default({}),
    store: storeSchema,
    auth: authSchema.default({}),
    policy: policySchema,
    models: z.array(modelSchema).min(1),
    quotas: quotasSchema.default({}),
    audit: auditSchema,
    observability: observabilitySchema,
    /** Security monitoring and alerting (src/monitor; docs/monitoring.md). */
    monitoring: monitoringSchema,
    /** Datasets served by the ingestion route `POST /v1/datasets/{name}/records` (docs/datasets.md). */
    datasets: z.array(datasetIngestSchema).default([]),
    /** Inference guards, in order of execution (docs/guards.md). */
    // An empty `guards:` (every entry commented out) means none.
    guards: z.preprocess((v) => (v === null ? [] : v), z.array(guardConfigSchema)).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.models.forEach((m, i) => {
      if (seen.has(m.name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['models', i, 'name'], message: `duplicate model name "${m.name}"` });
      }
      seen.add(m.name);
    });
    const seenDs = new Set<string>();
    cfg.datasets.forEach((d, i) => {
      if (seenDs.has(d.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['datasets', i, 'name'], message: `duplicate dataset name "${d.name}"` });
      seenDs.add(d.name);
    });
    const guardNames = new Set<string>();
    cfg.guards.forEach((g, i) => {
      const name = g.name ?? g.type;
      if (guardNames.has(name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['guards', i, 'name'], message: `duplicate guard name "${name}" (set name: to tell two guards of one kind apart)` });
      }
      guardNames.add(name);
    });
    if (cfg.server.requestTimeout > 0 && cfg.server.headersTimeout > cfg.server.requestTimeout) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['server', 'headersTimeout'],
        message: 'server.headersTimeout must not exceed server.requestTimeout',
      });
    }
    if (!cfg.server.tls && !cfg.server.allowPlainHttp) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['server', 'tls'],
        message: 'server.tls is required; set server.allowPlainHttp: true to serve plain HTTP on purpose',
      });
    }
  });

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
