// The Cedar schema policies are validated against. The built-in one (namespace Rampart) is made
// from a fixed part (principals, roles, groups, actions, request context) and the model
// attributes found in the config, so a policy that names an attribute no model has, or compares
// it with the wrong type, is refused at start-up. A user schema file replaces it entirely.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Schema } from '@cedar-policy/cedar-wasm/nodejs';
import type { ModelConfig } from '../config/schema.js';

/** What the policy layer needs of a model: its name, protocol and attributes. */
export type PolicyModel = Pick<ModelConfig, 'name' | 'protocol' | 'attributes'>;

/** What the policy layer needs of a dataset (the `datasets:` of the gateway config): name and attributes. */
export interface PolicyDataset {
  name: string;
  attributes: Record<string, string | number | boolean>;
}
import { FileNotFoundError } from '../core/errors.js';
import { PolicySchemaInvalidError } from './errors.js';

export const NAMESPACE = 'Rampart';

/** Model attributes every Model entity has, set by Rampart; config attributes may not reuse them. */
export const BUILTIN_MODEL_ATTRIBUTES = ['name', 'protocol'] as const;

/** Request attributes (context.request) the built-in schema declares, with their Cedar types. */
// Kept in step with what src/gateway/handler.ts passes: OpenAI body fields, the KServe model
// version and the generic route's path.
export const REQUEST_ATTRIBUTES: Readonly<Record<string, 'Bool' | 'Long' | 'String'>> = {
  stream: 'Bool',
  max_tokens: 'Long',
  max_completion_tokens: 'Long',
  max_output_tokens: 'Long',
  n: 'Long',
  version: 'String',
  path: 'String',
  records: 'Long',
};

type CedarPrim = 'String' | 'Long' | 'Bool';

function cedarType(v: string | number | boolean): CedarPrim {
  return typeof v === 'string' ? 'String' : typeof v === 'number' ? 'Long' : 'Bool';
}

function quoted(name: string): string {
  return JSON.stringify(name);
}

/**
 * Derives Model attribute types from the config: an attribute every model sets is required,
 * one only some models set is optional (policies must test it with `has`).
 */
export function modelAttributeTypes(models: readonly Pick<PolicyModel, 'name' | 'attributes'>[], what = 'model'): Map<string, { type: CedarPrim; required: boolean }> {
  const out = new Map<string, { type: CedarPrim; required: boolean; count: number; firstModel: string }>();
  for (const m of models) {
    for (const [k, v] of Object.entries(m.attributes)) {
      if ((BUILTIN_MODEL_ATTRIBUTES as readonly string[]).includes(k)) {
        throw new PolicySchemaInvalidError(`${what} "${m.name}": attribute "${k}" is reserved (set by Rampart)`);
      }
      const t = cedarType(v);
      const prev = out.get(k);
      if (prev && prev.type !== t) {
        throw new PolicySchemaInvalidError(
          `${what} "${m.name}": attribute "${k}" is a ${t} but ${what} "${prev.firstModel}" has it as a ${prev.type}; use one type per attribute`,
        );
      }
      if (prev) prev.count++;
      else out.set(k, { type: t, required: false, count: 1, firstModel: m.name });
    }
  }
  return new Map([...out].map(([k, v]) => [k, { type: v.type, required: v.count === models.length }]));
}

/** The built-in schema in Cedar's schema syntax. */
export function builtinSchemaText(models: readonly PolicyModel[], datasets: readonly PolicyDataset[] = []): string {
  const attrLines = (types: Map<string, { type: CedarPrim; required: boolean }>) =>
    [...types]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, { type, required }]) => `    ${quoted(k)}${required ? '' : '?'}: ${type},`)
      .join('\n');
  const attrs = attrLines(modelAttributeTypes(models));
  const datasetAttrs = attrLines(modelAttributeTypes(datasets, 'dataset'));
  const req = Object.entries(REQUEST_ATTRIBUTES)
    .map(([k, t]) => `${k}?: ${t}`)
    .join(', ');
  return `// Built-in Rampart schema (generated from the gateway config).
namespace ${NAMESPACE} {
  entity Role;
  entity Group;
  entity User in [Role, Group] {
    roles: Set<String>,
    groups: Set<String>,
    authMethod: String,
  } tags String;
  entity Service in [Role, Group] {
    roles: Set<String>,
    groups: Set<String>,
    authMethod: String,
  } tags String;
  entity Model {
    "name": String,
    "protocol": String,
${attrs}
  };
  entity Dataset {
    "name": String,
${datasetAttrs}
  };
  entity Gateway;
  type Time = {
    now: __cedar::datetime,
    epoch: Long,
    iso: String,
    date: String,
    hour: Long,
    minute: Long,
    weekday: Long,
  };
  type RequestAttributes = { ${req} };
  type Context = {
    time: Time,
    sourceIp: __cedar::ipaddr,
    route: String,
    method: String,
    request: RequestAttributes,
  };
  action invoke, list appliesTo { principal: [User, Service], resource: [Model], context: Context };
  action admin appliesTo { principal: [User, Service], resource: [Gateway, Model], context: Context };
  action ingest appliesTo { principal: [User, Service], resource: [Dataset], context: Context };
}
`;
}

export interface LoadedSchema {
  schema: Schema;
  /** The file it came from, or `(built-in schema)`. */
  label: string;
  /** The text, for mapping error offsets to lines. */
  text: string;
}

/** The user's schema file (Cedar syntax, or JSON when the file ends in .json) or the built-in one. */
export function loadSchema(schemaFile: string | undefined, models: readonly PolicyModel[], datasets: readonly PolicyDataset[] = []): LoadedSchema {
  if (!schemaFile) {
    const text = builtinSchemaText(models, datasets);
    return { schema: text, label: '(built-in schema)', text };
  }
  let text: string;
  try {
    text = readFileSync(schemaFile, 'utf8');
  } catch (e) {
    throw new FileNotFoundError(`cannot read Cedar schema ${schemaFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  if (extname(schemaFile).toLowerCase() === '.json') {
    try {
      return { schema: JSON.parse(text) as Schema, label: schemaFile, text };
    } catch (e) {
      throw new PolicySchemaInvalidError(`${schemaFile}: not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  return { schema: text, label: schemaFile, text };
}
