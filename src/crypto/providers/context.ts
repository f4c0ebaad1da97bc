// Canonical bytes of a WrapContext, so the same pairs always bind the same way whatever their order.
import type { WrapContext } from './types.js';

export function canonicalContext(context: WrapContext): Buffer {
  const keys = Object.keys(context).sort();
  return Buffer.from(JSON.stringify(keys.map((k) => [k, context[k]])), 'utf8');
}
