// `rampart policy validate|test|schema`: Cedar policy tooling for CI (see docs/policies.md).
// validate exits 0 when every policy parses and passes strict validation, 1 listing
// `file:line: reason` otherwise; test exits 1 when any case gets a decision other than expected.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { PolicyModel, PolicySetup } from '../../policy/index.js';
import { ExitCode } from '../exit-code.js';

// The policy layer (and the Cedar wasm module) is loaded only when a policy command runs, so
// other commands do not pay for compiling it at start-up.
const policyLib = () => import('../../policy/index.js');

interface SetupFlags {
  config?: string;
  policies?: string[];
  schema?: string;
  models?: string;
}

/** --config FILE, or --policies PATH... [--schema FILE] [--models FILE]; null when neither is given. */
async function setupFrom(flags: SetupFlags): Promise<PolicySetup | null> {
  const { loadModelsFile, setupFromConfig } = await policyLib();
  if (flags.config) {
    if (flags.policies || flags.schema || flags.models) throw new UsageError('give either --config or --policies/--schema/--models, not both');
    return setupFromConfig(flags.config);
  }
  if (flags.policies) {
    const models: PolicyModel[] = flags.models ? loadModelsFile(flags.models) : [];
    return { policy: { files: flags.policies, ...(flags.schema ? { schema: flags.schema } : {}) }, models, datasets: [] };
  }
  if (flags.schema || flags.models) throw new UsageError('--schema and --models need --policies');
  return null;
}

function setupOptions(c: Command): Command {
  return c
    .option('--config <file>', 'gateway config: use its policy section and models')
    .option('--policies <paths...>', 'Cedar policy files or folders (instead of --config)')
    .option('--schema <file>', 'Cedar schema file (default: the built-in schema)')
    .option('--models <file>', 'YAML list of models ({name, protocol, attributes}) for the built-in schema');
}

export function register(program: Command): void {
  const policy = program.command('policy').description('validate and test Cedar access policies');

  setupOptions(policy.command('validate').description('validate policies against the schema: exit 0 valid, 1 invalid'))
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: SetupFlags & { format: string }) => {
      if (o.format !== 'text' && o.format !== 'json') throw new UsageError('--format must be text or json');
      const { checkPolicies, formatProblem } = await policyLib();
      const setup = await setupFrom(o);
      if (!setup) throw new UsageError('give --config FILE or --policies PATH...');
      // The same schema as the gateway: its models and its datasets (docs/datasets.md).
      const check = checkPolicies(setup.policy, setup.models, setup.datasets);
      const problems = [...check.schemaProblems, ...check.problems];
      if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify({ valid: problems.length === 0, policies: check.policies.map((p) => ({ id: p.id, file: p.file })), problems }, null, 2)}\n`);
      } else if (problems.length) {
        for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
      } else {
        const files = new Set(check.policies.map((p) => p.file)).size;
        process.stdout.write(`ok: ${check.policies.length} policies in ${files} files are valid against ${setup.policy.schema ?? 'the built-in schema'}\n`);
      }
      if (problems.length) throw new ExitCode(1);
    });

  setupOptions(policy.command('test').description('run a YAML file of requests and expected decisions: exit 0 all pass, 1 any mismatch'))
    .argument('<file>', 'policy test file (YAML)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (file: string, o: SetupFlags & { format: string }) => {
      if (o.format !== 'text' && o.format !== 'json') throw new UsageError('--format must be text or json');
      const { loadPolicyEngine, loadPolicyTestFile, runPolicyTests } = await policyLib();
      const t = loadPolicyTestFile(file);
      const setup = (await setupFrom(o)) ?? t.setup;
      if (!setup) throw new UsageError(`${file} names no "config" or "policies"; give --config FILE or --policies PATH...`);
      const engine = loadPolicyEngine(setup.policy, setup.models, setup.datasets);
      const results = runPolicyTests(engine, t.cases);
      const failed = results.filter((r) => !r.pass).length;
      if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify({ passed: results.length - failed, failed, results }, null, 2)}\n`);
      } else {
        for (const r of results) {
          const why = r.pass ? '' : `: ${r.reason}`;
          const by = r.policyIds.length ? ` [${r.policyIds.join(', ')}]` : '';
          const errs = r.errors.length ? ` (errors: ${r.errors.join('; ')})` : '';
          process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'}  ${r.name}${why}${by}${errs}\n`);
        }
        process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
      }
      if (failed) throw new ExitCode(1);
    });

  policy
    .command('schema')
    .description('print the built-in Cedar schema for a config\'s models')
    .option('--config <file>', 'gateway config whose models give the Model attributes')
    .option('--models <file>', 'YAML list of models instead of --config')
    .action(async (o: { config?: string; models?: string }) => {
      const { builtinSchemaText, loadModelsFile, setupFromConfig } = await policyLib();
      const setup = o.config ? setupFromConfig(o.config) : null;
      const models = setup ? setup.models : o.models ? loadModelsFile(o.models) : [];
      process.stdout.write(builtinSchemaText(models, setup?.datasets ?? []));
    });
}
