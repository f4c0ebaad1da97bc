// Conformance suite run against every reporter, plus golden files of the fixed report.
import { describe, expect, it } from 'vitest';
import { isRampartError } from '../core/errors.js';
import type { ScanReport } from '../scan/types.js';
import { fixtureReport, fixtureRules } from './fixture-report.js';
import { getReporter, REPORT_FORMATS, shouldColor } from './index.js';
import { printable } from './table.js';

function shuffled(r: ScanReport): ScanReport {
  return { ...r, findings: [...r.findings].reverse(), files: [...r.files].reverse() };
}

const empty: ScanReport = {
  tool: { name: 'rampart', version: '0.1.0' },
  startedAt: '2026-11-28T12:00:00.000Z',
  durationMs: 5,
  files: [{ file: 'a.safetensors', formats: ['safetensors'], size: 10, complete: true, durationMs: 1 }],
  findings: [],
  suppressed: 0,
};

describe.each(REPORT_FORMATS)('reporter %s', (format) => {
  const reporter = getReporter(format);
  const opts = { color: false, rules: fixtureRules, baseDir: '/repo' };

  it('has the id it is registered under', () => {
    expect(reporter.id).toBe(format);
  });

  it('is deterministic whatever the order findings arrived in', () => {
    expect(reporter.render(shuffled(fixtureReport()), opts)).toBe(reporter.render(fixtureReport(), opts));
  });

  it('ends with a newline and mentions every finding rule', () => {
    const out = reporter.render(fixtureReport(), opts);
    expect(out.endsWith('\n')).toBe(true);
    for (const f of fixtureReport().findings) expect(out).toContain(f.ruleId);
  });

  it('renders a report without findings', () => {
    const out = reporter.render(empty, opts);
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toContain('RMP-');
  });

  it('never lets control characters from a scanned file through', () => {
    const out = reporter.render(fixtureReport(), opts);
    expect(out).not.toContain('\u001b[2J');
  });

  it('matches the golden file', async () => {
    await expect(reporter.render(fixtureReport(), opts)).toMatchFileSnapshot(
      `./__snapshots__/fixture-report.${format === 'table' ? 'txt' : format === 'json' ? 'json' : 'sarif'}`,
    );
  });
});

describe('registry', () => {
  it('throws a coded error for an unknown format', () => {
    let err: unknown;
    try {
      getReporter('xml');
    } catch (e) {
      err = e;
    }
    expect(isRampartError(err) && err.code).toBe('RAMPART_ERR_REPORT_FORMAT_UNKNOWN');
  });
});

describe('table reporter', () => {
  it('colours severities with ANSI only when asked', async () => {
    const colored = getReporter('table').render(fixtureReport(), { color: true, rules: fixtureRules });
    expect(colored).toContain('\u001b[1;97;41mCRITICAL');
    expect(getReporter('table').render(fixtureReport(), { color: false })).not.toContain('\u001b[');
    await expect(colored).toMatchFileSnapshot('./__snapshots__/fixture-report.color.txt');
  });

  it('groups archive members under their top-level file and flags incomplete files', () => {
    const out = getReporter('table').render(fixtureReport(), { color: false });
    const lines = out.split('\n');
    const header = lines.findIndex((l) => l.startsWith('models/model.pt '));
    expect(header).toBeGreaterThanOrEqual(0);
    expect(lines[header + 1]).toContain('CRITICAL');
    expect(lines[header + 1]).toContain('in archive/data.pkl');
    expect(out).toMatch(/models\/broken\.pkl .*NOT FULLY SCANNED/);
    expect(out).toContain('1 not fully scanned');
    expect(out).toContain('2 suppressed by baseline');
    expect(out).toMatch(/5 findings \(1 critical, 1 high, 1 medium, 1 low, 1 info\)/);
  });

  it('escapes control and bidi characters', () => {
    expect(printable('a\u001b[31mb\u202ec\nd')).toBe('a\\u001b[31mb\\u202ec\\nd');
  });
});

describe('json reporter', () => {
  it('keeps the documented key order and counts', () => {
    const doc = JSON.parse(getReporter('json').render(fixtureReport(), { color: false })) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'tool', 'startedAt', 'durationMs', 'summary', 'files', 'findings', 'suppressed']);
    expect(doc.summary).toEqual({
      files: 4,
      incompleteFiles: 1,
      findings: 5,
      bySeverity: { critical: 1, high: 1, medium: 1, low: 1, info: 1 },
      suppressed: 2,
    });
    const findings = doc.findings as Array<Record<string, unknown>>;
    expect(Object.keys(findings[0]!)).toEqual(['ruleId', 'severity', 'file', 'message']);
    expect(Object.keys(findings[3]!)).toEqual(['ruleId', 'severity', 'file', 'location', 'message', 'remediation', 'details']);
    expect(findings.map((f) => f.ruleId)).toEqual(['RMP-DATA-901', 'RMP-DATA-900', 'RMP-SCAN-001', 'RMP-PICKLE-001', 'RMP-PICKLE-002']);
  });
});

describe('shouldColor', () => {
  it('follows the terminal, NO_COLOR, FORCE_COLOR and TERM=dumb', () => {
    expect(shouldColor({ isTTY: true }, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});
