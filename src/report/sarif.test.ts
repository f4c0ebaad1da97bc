// SARIF output validated against the official SARIF 2.1.0 JSON schema (test/fixtures), plus the
// mapping choices documented in docs/reports.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { ScanReport } from '../scan/types.js';
import { fixtureReport, fixtureRules } from './fixture-report.js';
import { artifactUri, toSarif } from './sarif.js';

const schemaPath = fileURLToPath(new URL('../../test/fixtures/sarif-schema-2.1.0.json', import.meta.url));
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function sarifOf(report: ScanReport): Json {
  return toSarif(report, { color: false, rules: fixtureRules, baseDir: '/repo' }) as Json;
}

describe('SARIF reporter', () => {
  it('produces a log valid against the SARIF 2.1.0 schema', () => {
    const log = sarifOf(fixtureReport());
    const ok = validate(JSON.parse(JSON.stringify(log)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is not vacuous: a broken log is rejected', () => {
    const log = sarifOf(fixtureReport());
    log.runs[0].results[0].level = 'fatal';
    expect(validate(log)).toBe(false);
  });

  it('is valid without rule metadata and without findings', () => {
    const r = fixtureReport();
    const log = toSarif(r, { color: false, baseDir: '/repo' });
    expect(validate(JSON.parse(JSON.stringify(log)))).toBe(true);
    const none = toSarif({ ...r, findings: [], files: r.files.filter((f) => f.complete) }, { color: false });
    expect(validate(JSON.parse(JSON.stringify(none)))).toBe(true);
  });

  it('sets security-severity, levels and rule indexes', () => {
    const run = sarifOf(fixtureReport()).runs[0];
    const rules = run.tool.driver.rules as Json[];
    const byId = new Map(rules.map((r) => [r.id, r]));
    expect(byId.get('RMP-PICKLE-001')!.properties['security-severity']).toBe('9.5');
    expect(byId.get('RMP-SCAN-001')!.properties['security-severity']).toBe('8.0');
    expect(byId.get('RMP-PICKLE-002')!.properties['security-severity']).toBe('5.5');
    expect(byId.get('RMP-DATA-900')!.properties['security-severity']).toBe('3.0');
    expect(byId.get('RMP-DATA-901')!.properties['security-severity']).toBeUndefined();
    expect(byId.get('RMP-PICKLE-001')!.defaultConfiguration.level).toBe('error');
    expect(byId.get('RMP-PICKLE-001')!.properties.tags).toEqual(['security', 'supply-chain', 'pickle']);
    expect(byId.get('RMP-PICKLE-001')!.helpUri).toBe('https://docs.python.org/3/library/pickle.html');
    for (const res of run.results as Json[]) {
      expect(rules[res.ruleIndex]!.id).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
      expect(res.partialFingerprints['rampartFinding/v1']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('points archive members at the archive with a logical location', () => {
    const run = sarifOf(fixtureReport()).runs[0];
    const crit = (run.results as Json[]).find((r) => r.ruleId === 'RMP-PICKLE-001')!;
    expect(crit.locations[0].physicalLocation.artifactLocation).toEqual({ uri: 'models/model.pt', uriBaseId: '%SRCROOT%' });
    expect(crit.locations[0].physicalLocation.region).toEqual({ startLine: 1 });
    expect(crit.locations[0].logicalLocations[0].fullyQualifiedName).toBe('models/model.pt!archive/data.pkl');
    expect(crit.properties.byteOffset).toBe(42);
    const low = (run.results as Json[]).find((r) => r.ruleId === 'RMP-DATA-900')!;
    expect(low.locations[0].physicalLocation.artifactLocation.uri).toBe('data/train%20set.csv');
    expect(low.locations[0].physicalLocation.region).toEqual({ startLine: 12 });
    expect(low.properties.row).toBe(10);
  });

  it('reports incomplete files as an unsuccessful execution', () => {
    const inv = sarifOf(fixtureReport()).runs[0].invocations[0];
    expect(inv.executionSuccessful).toBe(false);
    expect(inv.toolExecutionNotifications).toHaveLength(1);
    expect(inv.toolExecutionNotifications[0].locations[0].physicalLocation.artifactLocation.uri).toBe('models/broken.pkl');
    const r = fixtureReport();
    const ok = sarifOf({ ...r, files: r.files.map((f) => ({ ...f, complete: true })) }).runs[0].invocations[0];
    expect(ok.executionSuccessful).toBe(true);
  });

  it('fingerprints stay the same across runs and differ between findings', () => {
    const a = sarifOf(fixtureReport()).runs[0].results as Json[];
    const b = sarifOf({ ...fixtureReport(), startedAt: '2027-01-01T00:00:00.000Z', durationMs: 9 }).runs[0].results as Json[];
    expect(a.map((r) => r.partialFingerprints)).toEqual(b.map((r) => r.partialFingerprints));
    expect(new Set(a.map((r) => r.partialFingerprints['rampartFinding/v1'])).size).toBe(a.length);
  });

  it('makes artifact URIs relative to the base directory when possible', () => {
    expect(artifactUri('/repo/m/a b#c.pt', '/repo')).toEqual({ uri: 'm/a%20b%23c.pt', uriBaseId: '%SRCROOT%' });
    expect(artifactUri('/elsewhere/x.pt', '/repo').uri).toBe('file:///elsewhere/x.pt');
    expect(artifactUri('./m/x.pt', '/repo')).toEqual({ uri: 'm/x.pt', uriBaseId: '%SRCROOT%' });
  });
});
