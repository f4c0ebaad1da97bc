// Loads, validates, path-resolves and freezes a gateway configuration file (YAML or JSON).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigInvalidError, ConfigNotFoundError } from '../core/errors.js';
import { gatewayConfigSchema, type GatewayConfig } from './schema.js';

export interface LoadedConfig {
  config: GatewayConfig;
  /** Absolute path of the file it came from. */
  file: string;
}

/** Reads and validates a config file; relative paths inside it are resolved against its folder. */
export function loadConfig(file: string): LoadedConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigNotFoundError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new ConfigInvalidError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return { config: parseConfig(raw, dirname(abs), file), file: abs };
}

/** Validates an already-parsed config object. `baseDir` resolves relative file paths. */
export function parseConfig(raw: unknown, baseDir: string, label = 'config'): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const first = result.error.issues[0]!;
    const where = first.path.length ? first.path.join('.') : '(root)';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
    throw new ConfigInvalidError(`${label}: ${where}: ${first.message}${more}`, {
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return deepFreeze(resolvePaths(result.data, baseDir));
}

function rel(baseDir: string, p: string): string;
function rel(baseDir: string, p: string | undefined): string | undefined;
function rel(baseDir: string, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function resolvePaths(cfg: GatewayConfig, baseDir: string): GatewayConfig {
  const out = structuredClone(cfg);
  if (out.server.tls) {
    out.server.tls.cert = rel(baseDir, out.server.tls.cert);
    out.server.tls.key = rel(baseDir, out.server.tls.key);
    out.server.tls.clientCa = rel(baseDir, out.server.tls.clientCa);
  }
  for (const m of out.models) {
    m.upstream.ca = rel(baseDir, m.upstream.ca);
    m.upstream.cert = rel(baseDir, m.upstream.cert);
    m.upstream.key = rel(baseDir, m.upstream.key);
  }
  for (const j of out.auth.jwt) j.jwksCa = rel(baseDir, j.jwksCa);
  out.policy.files = out.policy.files.map((f) => rel(baseDir, f));
  out.policy.schema = rel(baseDir, out.policy.schema);
  for (const d of out.datasets) d.baseline = rel(baseDir, d.baseline);
  if (out.store.type === 'sqlite' && out.store.path !== ':memory:') out.store.path = rel(baseDir, out.store.path);
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
