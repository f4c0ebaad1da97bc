import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { allRules, defineRules, getRule } from './rules.js';
import './analyzers/index.js';
import '../dataset/rules.js';

describe('rule registry', () => {
  it('throws on a duplicate id and on a malformed id', () => {
    expect(() => defineRules([{ id: 'RMP-SCAN-001', severity: 'low', title: 't', description: 'd', remediation: 'r' }])).toThrow(/duplicate/);
    expect(() => defineRules([{ id: 'BAD-1', severity: 'low', title: 't', description: 'd', remediation: 'r' }])).toThrow(/malformed/);
  });
  it('every rule has a title, description and remediation', () => {
    for (const r of allRules()) {
      expect(r.title.length, r.id).toBeGreaterThan(3);
      expect(r.description.length, r.id).toBeGreaterThan(10);
      expect(r.remediation.length, r.id).toBeGreaterThan(3);
    }
  });
  it('docs/rules.md lists exactly the registered rules with their severities', () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const documented = new Map<string, string>();
    for (const m of doc.matchAll(/^\|\s*`(RMP-[A-Z0-9]+-\d{3})`\s*\|\s*([a-z]+)\s*\|/gm)) documented.set(m[1]!, m[2]!);
    const registered = new Map(allRules().map((r) => [r.id, r.severity as string]));
    expect([...documented.keys()].sort()).toEqual([...registered.keys()].sort());
    for (const [id, sev] of documented) expect(sev, id).toBe(getRule(id)?.severity);
  });
});
