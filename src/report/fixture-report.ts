// A fixed ScanReport exercising every reporter feature (all severities, archive members, offsets,
// lines, rows, records, details, an incomplete file, a suppressed count). Used by the reporter
// tests and golden files; kept out of the test files so other suites (CLI) can reuse it.
import type { Rule, ScanReport } from '../scan/types.js';
import type { RuleLookup } from './types.js';

export const FIXTURE_RULES: Rule[] = [
  {
    id: 'RMP-PICKLE-001',
    severity: 'critical',
    title: 'Pickle imports a dangerous callable',
    description: 'The pickle imports a callable that can run commands, touch files or load code when the file is loaded.',
    remediation: 'Do not load this file. Obtain the model from a trusted source or convert it to safetensors.',
    links: ['https://docs.python.org/3/library/pickle.html'],
  },
  {
    id: 'RMP-PICKLE-002',
    severity: 'medium',
    title: 'Pickle imports a global outside the allow-list',
    description: 'The pickle imports a global that is not known to be safe.',
    remediation: 'Review the global; add it to scan.allowGlobals if it is safe.',
  },
  {
    id: 'RMP-SCAN-001',
    severity: 'high',
    title: 'File could not be fully scanned',
    description: 'The scanner stopped before the end of the file, so it cannot be reported as clean.',
    remediation: 'Inspect the file by hand or raise the limit that was hit.',
  },
];

export const fixtureRules: RuleLookup = (id) => FIXTURE_RULES.find((r) => r.id === id);

export function fixtureReport(): ScanReport {
  return {
    tool: { name: 'rampart', version: '0.1.0' },
    startedAt: '2026-11-28T12:00:00.000Z',
    durationMs: 1234,
    files: [
      { file: 'models/model.pt', formats: ['zip', 'pytorch', 'pickle'], size: 2_097_152, complete: true, durationMs: 40 },
      { file: 'models/clean.safetensors', formats: ['safetensors'], size: 1024, complete: true, durationMs: 2 },
      { file: 'models/broken.pkl', formats: ['pickle'], size: 77, complete: false, durationMs: 1 },
      { file: 'data/train set.csv', formats: ['csv'], size: 5000, complete: true, durationMs: 3 },
    ],
    findings: [
      {
        ruleId: 'RMP-PICKLE-002',
        severity: 'medium',
        file: 'models/model.pt!archive/data.pkl',
        location: { offset: 120 },
        message: 'Imports mylib.layers.Custom, which is not on the allow-list',
        remediation: 'Review the global; add it to scan.allowGlobals if it is safe.',
        details: { module: 'mylib.layers', name: 'Custom' },
      },
      {
        ruleId: 'RMP-PICKLE-001',
        severity: 'critical',
        file: 'models/model.pt!archive/data.pkl',
        location: { offset: 42 },
        message: 'Imports os.system and calls it',
        remediation: 'Do not load this file.',
        details: { opcode: 'STACK_GLOBAL', module: 'os', name: 'system' },
      },
      {
        ruleId: 'RMP-SCAN-001',
        severity: 'high',
        file: 'models/broken.pkl',
        location: { offset: 76 },
        message: 'Pickle ends without STOP\u001b[2J (stream truncated)',
      },
      {
        ruleId: 'RMP-DATA-900',
        severity: 'low',
        file: 'data/train set.csv',
        location: { line: 12, row: 10, record: 'label' },
        message: 'Unusual label value',
      },
      {
        ruleId: 'RMP-DATA-901',
        severity: 'info',
        file: 'data/train set.csv',
        message: 'Dataset has 4,999 rows',
      },
    ],
    suppressed: 2,
  };
}
