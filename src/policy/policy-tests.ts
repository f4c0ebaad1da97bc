// `rampart policy test`: a YAML file of requests with the decision each should get, run against
// the configured (or listed) policies. Also the loader of a bare models file for policy tooling.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { FileNotFoundError } from '../core/errors.js';
import { ACTIONS, type Principal } from '../core/types.js';
import type { PolicyEngine } from './engine.js';
import { PolicyTestInvalidError } from './errors.js';
import type { PolicyDataset, PolicyModel } from './schema.js';

const attrValue = z.union([z.string(), z.number().int(), z.boolean()]);

/** A model as the policy tools need it; other keys (upstream, quotas, ...) are accepted and ignored. */
const policyModelSchema = z
  .object({
    name: z.string().min(1),
    protocol: z.enum(['openai', 'kserve-v2', 'generic']).default('generic'),
    attributes: z.record(attrValue).default({}),
  })
  .passthrough();

const principalSchema = z
  .object({
    id: z.string().min(1),
    kind: z.enum(['user', 'service']).default('user'),
    roles: z.array(z.string()).default([]),
    groups: z.array(z.string()).default([]),
    authMethod: z.enum(['api-key', 'jwt', 'mtls']).default('api-key'),
    attributes: z.record(attrValue).default({}),
  })
  .strict();

const contextSchema = z
  .object({
    /** ISO 8601 time of the request; default: now. */
    time: z.string().datetime({ offset: true }).optional(),
    sourceIp: z.string().default('127.0.0.1'),
    route: z.string().default('test'),
    method: z.string().default('POST'),
    attributes: z.record(z.union([z.string(), z.number(), z.boolean()])).default({}),
  })
  .strict();

const caseSchema = z
  .object({
    name: z.string().min(1),
    principal: principalSchema,
    action: z.enum(ACTIONS),
    /** Model name; empty for gateway-wide `admin` requests. */
    model: z.string(),
    context: contextSchema.default({}),
    expect: z.enum(['allow', 'deny']),
    /** When set, the deciding policy ids must be exactly these (in any order). */
    expectPolicies: z.array(z.string()).optional(),
  })
  .strict();

const testFileSchema = z
  .object({
    /** A gateway config whose `policy` and `models` are used. */
    config: z.string().optional(),
    /** Policy files or folders (instead of `config`). */
    policies: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    schema: z.string().optional(),
    /** A models file (YAML list, or an object with `models:`), or the models inline. */
    models: z.union([z.string(), z.array(policyModelSchema)]).optional(),
    tests: z.array(caseSchema).min(1),
  })
  .strict();

export type PolicyTestCase = z.infer<typeof caseSchema>;

export interface PolicySetup {
  policy: GatewayConfig['policy'];
  models: PolicyModel[];
  /** The config's `datasets:` (Rampart::Dataset, resource of `ingest`): the gateway's schema has them too. */
  datasets: PolicyDataset[];
}

export interface PolicyTestFile {
  file: string;
  /** Where policies come from, unless overridden on the command line. */
  setup: PolicySetup | null;
  cases: PolicyTestCase[];
}

function readYaml(file: string, Err: typeof PolicyTestInvalidError): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileNotFoundError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  try {
    return parseYaml(text);
  } catch (e) {
    throw new Err(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

function zodProblem(file: string, err: z.ZodError): string {
  const first = err.issues[0]!;
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
  return `${file}: ${first.path.join('.') || '(root)'}: ${first.message}${more}`;
}

/** Reads a models file: a YAML list of models or an object with a `models` list (a gateway config works too). */
export function loadModelsFile(file: string): PolicyModel[] {
  const raw = readYaml(file, PolicyTestInvalidError);
  const list = Array.isArray(raw) ? raw : (raw as { models?: unknown } | null)?.models;
  const res = z.array(policyModelSchema).safeParse(list);
  if (!res.success) throw new PolicyTestInvalidError(zodProblem(file, res.error));
  return res.data.map((m) => ({ name: m.name, protocol: m.protocol, attributes: m.attributes }));
}

/** The policy setup of a gateway config file. */
export function setupFromConfig(configFile: string): PolicySetup {
  const { config } = loadConfig(configFile);
  return { policy: config.policy, models: [...config.models], datasets: config.datasets.map((d) => ({ name: d.name, attributes: d.attributes })) };
}

export function loadPolicyTestFile(file: string): PolicyTestFile {
  const raw = readYaml(file, PolicyTestInvalidError);
  const res = testFileSchema.safeParse(raw);
  if (!res.success) throw new PolicyTestInvalidError(zodProblem(file, res.error));
  const t = res.data;
  const base = dirname(resolve(file));
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  let setup: PolicySetup | null = null;
  if (t.config) {
    if (t.policies || t.models || t.schema) throw new PolicyTestInvalidError(`${file}: use either "config" or "policies"/"models"/"schema", not both`);
    setup = setupFromConfig(rel(t.config));
  } else if (t.policies) {
    const files = (Array.isArray(t.policies) ? t.policies : [t.policies]).map(rel);
    const models = t.models === undefined ? [] : typeof t.models === 'string' ? loadModelsFile(rel(t.models)) : t.models;
    setup = {
      policy: { files, ...(t.schema ? { schema: rel(t.schema) } : {}) },
      models: models.map((m) => ({ name: m.name, protocol: m.protocol, attributes: m.attributes })),
      datasets: [],
    };
  }
  return { file, setup, cases: t.tests };
}

export interface PolicyTestResult {
  name: string;
  pass: boolean;
  expected: 'allow' | 'deny';
  actual: 'allow' | 'deny';
  policyIds: string[];
  errors: string[];
  /** Why it failed, when it did. */
  reason?: string;
}

export function runPolicyTests(engine: PolicyEngine, cases: readonly PolicyTestCase[], now: Date = new Date()): PolicyTestResult[] {
  return cases.map((c) => {
    const principal: Principal = { ...c.principal, roles: [...c.principal.roles], groups: [...c.principal.groups] };
    const d = engine.authorize({
      principal,
      action: c.action,
      model: c.model,
      context: {
        time: c.context.time ? new Date(c.context.time) : now,
        sourceIp: c.context.sourceIp,
        route: c.context.route,
        method: c.context.method,
        attributes: c.context.attributes,
      },
    });
    let reason: string | undefined;
    if (d.decision !== c.expect) reason = `expected ${c.expect}, got ${d.decision}`;
    else if (c.expectPolicies) {
      const want = [...c.expectPolicies].sort();
      const got = [...d.policyIds].sort();
      if (want.join('\n') !== got.join('\n')) reason = `expected policies [${want.join(', ')}], got [${got.join(', ')}]`;
    }
    return {
      name: c.name,
      pass: reason === undefined,
      expected: c.expect,
      actual: d.decision,
      policyIds: [...d.policyIds],
      errors: [...d.errors],
      ...(reason ? { reason } : {}),
    };
  });
}
