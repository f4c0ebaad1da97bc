// CLI-level tests of `rampart scan --label` and `rampart dataset baseline|diff`, spawning
// bin/rampart.js (dist must be built: `npm run build`, as `npm test` does).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'rampart.js');
const dir = mkdtempSync(path.join(tmpdir(), 'rampart-dscli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
}

/** Two separable classes; row 7 (line 9) has a non-numeric value. */
function csv(extra: string[] = []): string {
  const lines = ['id,a,b,label'];
  for (let i = 0; i < 40; i++) lines.push(i === 7 ? `${i},oops,1,x` : `${i},${(i % 2) * 10 + (i % 5) / 10},${(i % 2) * 10 - (i % 3) / 10},${i % 2 ? 'y' : 'x'}`);
  return [...lines, ...extra].join('\n') + '\n';
}

describe('rampart scan --label (CLI)', () => {
  it('reports the bad row in SARIF with its line and row, and exits 1', () => {
    writeFileSync(path.join(dir, 'd.csv'), csv());
    const r = run(['scan', 'd.csv', '--label', 'label', '--id', 'id', '--format', 'sarif']);
    expect(r.status, r.stderr).toBe(1);
    const sarif = JSON.parse(r.stdout) as { runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[]; properties: { row: number } }[] }[] };
    const hit = sarif.runs[0]!.results.find((x) => x.ruleId === 'RMP-DATA-002')!;
    expect(hit.locations[0]!.physicalLocation.region.startLine).toBe(9);
    expect(hit.properties.row).toBe(7);
  });
  it('takes --feature-scale auto|standard|none and --outlier-rate, and refuses values out of range', () => {
    writeFileSync(path.join(dir, 'd.csv'), csv());
    const ok = run(['scan', 'd.csv', '--label', 'label', '--feature-scale', 'auto', '--outlier-rate', '0.05', '--format', 'json']);
    expect(ok.status, ok.stderr).toBe(1);
    expect((JSON.parse(ok.stdout) as { findings: { ruleId: string }[] }).findings.map((f) => f.ruleId)).toContain('RMP-DATA-002');
    for (const bad of [['--outlier-rate', '2'], ['--outlier-rate', 'x'], ['--feature-scale', 'log']]) {
      const r = run(['scan', 'd.csv', '--label', 'label', ...bad]);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--outlier-rate must be|--feature-scale must be/);
    }
  });
  it('baseline then diff lists the new and changed rows; an unknown column exits 2 with its code', () => {
    writeFileSync(path.join(dir, 'old.csv'), csv());
    writeFileSync(path.join(dir, 'new.csv'), csv(['40,0.1,0.2,x']).replace('\n3,10.3,', '\n3,10.4,'));
    expect(run(['dataset', 'baseline', 'old.csv', '--label', 'label', '--id', 'id', '-o', 'base.json']).status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'base.json'), 'utf8')).manifest.key).toBe('id');
    const r = run(['dataset', 'diff', 'base.json', 'new.csv', '--id', 'id', '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: number; changed: number; removed: number; rows: { row: number; line: number; key: string }[] };
    expect([out.added, out.changed, out.removed]).toEqual([1, 1, 0]);
    expect(out.rows).toEqual([
      { row: 3, line: 5, key: '3' },
      { row: 40, line: 42, key: '40' },
    ]);
    const bad = run(['scan', 'new.csv', '--label', 'nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('RAMPART_ERR_DATASET_COLUMN_UNKNOWN');
  });
});
