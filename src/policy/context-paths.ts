// Finds which parts of the request context the policies read (e.g. `context.time.hour`,
// `context.sourceIp`). Decisions depend only on the principal, action, resource and those
// parts, so the engine can cache a decision under a key made of exactly them.
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';

/** Dotted paths into the context that some policy reads, or 'all' when a policy uses the whole context. */
export type ContextUse = Set<string> | 'all';

type Node = unknown;

function pathOf(expr: Node): string[] | null {
  if (!expr || typeof expr !== 'object' || Array.isArray(expr)) return null;
  const o = expr as Record<string, unknown>;
  if (o.Var === 'context' && Object.keys(o).length === 1) return [];
  const dot = o['.'] as { left?: Node; attr?: string } | undefined;
  if (dot && typeof dot.attr === 'string') {
    const p = pathOf(dot.left);
    return p === null ? null : [...p, dot.attr];
  }
  return null;
}

export function contextPathsUsed(policies: readonly PolicyJson[]): ContextUse {
  const used = new Set<string>();
  let all = false;
  const visit = (node: Node): void => {
    if (all || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const o = node as Record<string, unknown>;
    if (o.Var === 'context') {
      all = true;
      return;
    }
    if ('.' in o) {
      const p = pathOf(o);
      if (p !== null) {
        used.add(p.join('.'));
        return;
      }
    }
    const has = o.has as { left?: Node; attr?: string | string[] } | undefined;
    if (has && typeof has === 'object' && 'left' in has) {
      const p = pathOf(has.left);
      if (p !== null) {
        used.add([...p, ...(Array.isArray(has.attr) ? has.attr : [has.attr ?? ''])].join('.'));
        return;
      }
    }
    for (const v of Object.values(o)) visit(v);
  };
  for (const p of policies) visit(p.conditions);
  return all ? 'all' : used;
}

/** Reads a dotted path from a plain object. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
