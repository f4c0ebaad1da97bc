// The guard kinds the gateway knows, in one visible list. A new kind adds one line here (its
// factory from src/guards/<kind>/index.ts). `guards[].type` in the config names a factory's `kind`.
/* eslint-disable @typescript-eslint/no-explicit-any -- each factory has its own options type */
import { GuardConfigInvalidError } from './errors.js';
import { extractionGuardFactory } from './extraction/index.js';
import { outputHardeningGuardFactory } from './output-hardening/index.js';
import { promptInjectionGuardFactory } from './injection/index.js';
import { piiGuardFactory } from './pii/index.js';
import { predictionsGuardFactory } from './predictions/index.js';
import { tensorGuardFactory } from './tensor/index.js';
import type { GuardFactory } from './types.js';

export const GUARD_FACTORIES: readonly GuardFactory<any>[] = [
  promptInjectionGuardFactory,
  piiGuardFactory,
  extractionGuardFactory,
  outputHardeningGuardFactory,
  tensorGuardFactory,
  predictionsGuardFactory,
  // one line per guard kind, e.g. piiGuardFactory,
];

/**
 * The factories by kind: the built-ins plus `extra` (tests, embedders). Throws on a duplicate kind.
 *
 * @example
 * const f = guardFactories().get('pii');
 */
export function guardFactories(extra: readonly GuardFactory<any>[] = []): ReadonlyMap<string, GuardFactory<any>> {
  const out = new Map<string, GuardFactory<any>>();
  for (const f of [...GUARD_FACTORIES, ...extra]) {
    if (out.has(f.kind)) throw new GuardConfigInvalidError(`two guard factories declare the kind "${f.kind}"`);
    out.set(f.kind, f);
  }
  return out;
}
