// Reads Cedar policy files (files, or folders searched recursively for *.cedar), gives each
// policy a stable id (its `@id("...")` annotation, else `<file>#<index>`), and validates every
// file in strict mode against the schema, reporting each problem as file:line: reason.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import {
  checkParsePolicySet,
  checkParseSchema,
  policySetTextToParts,
  policyToJson,
  validate,
  type DetailedError,
  type PolicyJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { FileNotFoundError } from '../core/errors.js';
import type { LoadedSchema } from './schema.js';
import { lineAt } from './source-lines.js';

export interface PolicyProblem {
  file: string;
  /** 1-based line, when Cedar reported a location. */
  line: number | null;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}${p.line !== null ? `:${p.line}` : ''}: ${p.message}`;
}

export interface PolicySource {
  file: string;
  /** Label used in generated ids: the path relative to the listed folder, or the file name. */
  label: string;
}

export interface CompiledPolicy {
  id: string;
  text: string;
  json: PolicyJson;
  file: string;
  index: number;
}

export interface CompileResult {
  policies: CompiledPolicy[];
  problems: PolicyProblem[];
  schemaProblems: PolicyProblem[];
}

function walk(dir: string, out: string[]): void {
  for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out);
    else if (ent.isFile() && ent.name.endsWith('.cedar')) out.push(p);
  }
}

/** Expands the configured paths into policy files, in a stable order. */
export function collectPolicyFiles(paths: readonly string[]): PolicySource[] {
  const out: PolicySource[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      throw new FileNotFoundError(`policy path ${p} does not exist`, { cause: e });
    }
    if (isDir) {
      const files: string[] = [];
      walk(p, files);
      for (const f of files) out.push({ file: f, label: relative(p, f).split(sep).join('/') });
    } else {
      out.push({ file: p, label: basename(p) });
    }
  }
  return out;
}

function describe(err: DetailedError): string {
  // Cedar prefixes messages with its internal policy name ("for policy `policy3`, ..."), which
  // means nothing to the author; the file and line say where instead.
  const msg = err.message.replace(/^for policy `[^`]*`, /, '');
  return err.help ? `${msg} (${err.help})` : msg;
}

function problemsFrom(errors: readonly DetailedError[], file: string, text: string): PolicyProblem[] {
  return errors.map((e) => {
    const loc = e.sourceLocations?.[0];
    return { file, line: loc ? lineAt(text, loc.start) : null, message: describe(e) };
  });
}

/** Checks the schema on its own, so its errors are reported once and not once per policy file. */
export function checkSchema(schema: LoadedSchema): PolicyProblem[] {
  const res = checkParseSchema(schema.schema);
  return res.type === 'success' ? [] : problemsFrom(res.errors, schema.label, schema.text);
}

/** Parses, names and validates the policies of every file; collects every problem found. */
export function compilePolicies(sources: readonly PolicySource[], schema: LoadedSchema): CompileResult {
  const schemaProblems = checkSchema(schema);
  const problems: PolicyProblem[] = [];
  const policies: CompiledPolicy[] = [];
  const seen = new Map<string, string>();
  for (const src of sources) {
    let text: string;
    try {
      text = readFileSync(src.file, 'utf8');
    } catch (e) {
      throw new FileNotFoundError(`cannot read policy file ${src.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    const parsed = checkParsePolicySet({ staticPolicies: text });
    if (parsed.type === 'failure') {
      problems.push(...problemsFrom(parsed.errors, src.file, text));
      continue;
    }
    const parts = policySetTextToParts(text);
    if (parts.type === 'failure') {
      problems.push(...problemsFrom(parts.errors, src.file, text));
      continue;
    }
    if (parts.policy_templates.length > 0) {
      problems.push({ file: src.file, line: null, message: 'policy templates (with ?principal or ?resource slots) are not supported' });
      continue;
    }
    let cursor = 0;
    parts.policies.forEach((ptext, index) => {
      // Parts are verbatim slices of the file, so their position gives the line for messages.
      const at = text.indexOf(ptext, cursor);
      if (at >= 0) cursor = at + ptext.length;
      const line = at >= 0 ? text.slice(0, at).split('\n').length : null;
      const j = policyToJson(ptext);
      if (j.type === 'failure') {
        problems.push(...problemsFrom(j.errors, src.file, ptext));
        return;
      }
      const id = j.json.annotations?.id ?? `${src.label}#${index}`;
      const where = line !== null ? `${src.file}:${line}` : `${src.file} (policy ${index})`;
      const prev = seen.get(id);
      if (prev !== undefined) {
        problems.push({ file: src.file, line, message: `duplicate policy id "${id}" (also in ${prev})` });
        return;
      }
      seen.set(id, where);
      policies.push({ id, text: ptext, json: j.json, file: src.file, index });
    });
    if (schemaProblems.length === 0) {
      const v = validate({ schema: schema.schema, policies: { staticPolicies: text }, validationSettings: { mode: 'strict' } });
      if (v.type === 'failure') problems.push(...problemsFrom(v.errors, src.file, text));
      else for (const ve of v.validationErrors) problems.push(...problemsFrom([ve.error], src.file, text));
    }
  }
  return { policies, problems, schemaProblems };
}
