// Entry point of the Cedar policy layer: load, validate and compile the configured policies into
// an Authorizer. A bad schema or policy stops start-up with a coded error naming file:line: reason.
import type { GatewayConfig } from '../config/schema.js';
import { CedarPolicyEngine, type PolicyEngine } from './engine.js';
import { PolicyInvalidError, PolicySchemaInvalidError } from './errors.js';
import { collectPolicyFiles, compilePolicies, formatProblem, type CompiledPolicy, type PolicyProblem } from './load-policies.js';
import { loadSchema, type PolicyDataset, type PolicyModel } from './schema.js';

export type { PolicyEngine } from './engine.js';
export type { PolicyProblem } from './load-policies.js';
export { formatProblem } from './load-policies.js';
export { builtinSchemaText, type PolicyDataset, type PolicyModel } from './schema.js';
export * from './errors.js';
export { loadModelsFile, loadPolicyTestFile, runPolicyTests, setupFromConfig, type PolicySetup, type PolicyTestCase, type PolicyTestResult } from './policy-tests.js';

export interface PolicyCheck {
  policies: CompiledPolicy[];
  /** Problems with the schema (reported once). */
  schemaProblems: PolicyProblem[];
  /** Problems with policies. */
  problems: PolicyProblem[];
}

/**
 * Validates the policy files against the schema and returns every problem found (no throw for
 * invalid policies; missing files and conflicting model attribute types still throw).
 */
export function checkPolicies(policy: GatewayConfig['policy'], models: readonly PolicyModel[], datasets: readonly PolicyDataset[] = []): PolicyCheck {
  const schema = loadSchema(policy.schema, models, datasets);
  const sources = collectPolicyFiles(policy.files);
  return compilePolicies(sources, schema);
}

/**
 * Loads the configured policies and returns the authorizer; throws RAMPART_ERR_POLICY_SCHEMA_INVALID
 * or RAMPART_ERR_POLICY_INVALID (message `file:line: reason`, every problem in `details.problems`).
 *
 * @example
 * const authz = loadPolicyEngine(config.policy, config.models);
 * authz.authorize({ principal, action: 'invoke', model: 'gpt-small', context }).decision; // 'allow' | 'deny'
 */
export function loadPolicyEngine(policy: GatewayConfig['policy'], models: readonly PolicyModel[], datasets: readonly PolicyDataset[] = []): PolicyEngine {
  const check = checkPolicies(policy, models, datasets);
  const fail = (Err: typeof PolicyInvalidError, problems: PolicyProblem[]): never => {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new Err(`${formatProblem(problems[0]!)}${more}`, {
      details: { problems: problems.map((p) => ({ file: p.file, line: p.line, message: p.message })) },
    });
  };
  if (check.schemaProblems.length) fail(PolicySchemaInvalidError, check.schemaProblems);
  if (check.problems.length) fail(PolicyInvalidError, check.problems);
  return new CedarPolicyEngine(check.policies, models, datasets);
}
