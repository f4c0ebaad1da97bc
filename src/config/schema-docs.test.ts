// Keeps docs/config.md in step with the schema: every key the schema accepts is documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

function keys(schema: z.ZodTypeAny, out: Set<string>): void {
  const def = schema._def as { typeName: string; innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny; type?: z.ZodTypeAny; options?: z.ZodTypeAny[]; valueType?: z.ZodTypeAny; left?: z.ZodTypeAny; right?: z.ZodTypeAny };
  if (schema instanceof z.ZodObject) {
    for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodTypeAny>)) {
      out.add(k);
      keys(v, out);
    }
    return;
  }
  for (const inner of [def.innerType, def.schema, def.type, def.valueType, def.left, def.right, ...(def.options ?? [])]) if (inner) keys(inner, out);
}

describe('docs/config.md', () => {
  it('documents every key of the gateway config schema', () => {
    const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    const all = new Set<string>();
    keys(gatewayConfigSchema, all);
    expect(all.size).toBeGreaterThan(40);
    const missing = [...all].filter((k) => !doc.includes(`\`${k}\``) && !new RegExp(`\`[^\`]*\\.${k}\``).test(doc) && !new RegExp(`\`${k}\\.`).test(doc));
    expect(missing).toEqual([]);
  });
});
