// CLI-level tests of `rampart scan --label` and `rampart dataset baseline|diff`, spawning
// bin/rampart.js (dist must be built: `npm run build`, as `npm test` does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
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
    const out = JSON.parse(r.stdout) as { added: number; changed: number; removed: number; rows: { row: number; line: number; key: string; status: string }[] };
    expect([out.added, out.changed, out.removed]).toEqual([1, 1, 0]);
    expect(out.rows).toEqual([
      { row: 3, line: 5, key: '3', status: 'changed' },
      { row: 40, line: 42, key: '40', status: 'new' },
    ]);
    // A baseline recorded without --id is compared by content, also when NEW is read with --id
    // (regression: the rows to check were keyed by hash on one side and by id on the other, so
    // none was listed).
    expect(run(['dataset', 'baseline', 'old.csv', '--label', 'label', '-o', 'base-content.json']).status).toBe(0);
    const c = JSON.parse(run(['dataset', 'diff', 'base-content.json', 'new.csv', '--id', 'id', '--format', 'json']).stdout) as typeof out;
    expect([c.added, c.changed, c.removed]).toEqual([2, 0, 1]);
    expect(c.rows).toEqual([
      { row: 3, line: 5, key: '3', status: 'new' },
      { row: 40, line: 42, key: '40', status: 'new' },
    ]);
    const t = run(['dataset', 'diff', 'old.csv', 'new.csv']);
    expect(t.stdout.split('\n').slice(0, 3)).toEqual(['added 2, changed 0, removed 1, unchanged 39', expect.stringMatching(/^row 3 \(line 5\): new [0-9a-f]{32}$/), expect.stringMatching(/^row 40 \(line 42\): new /)]);
    const bad = run(['scan', 'new.csv', '--label', 'nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('RAMPART_ERR_DATASET_COLUMN_UNKNOWN');
  });

  it('SARIF startLine is the row\'s first line: CSV with quoted line breaks, JSON Lines with blank lines (header counted)', () => {
    type Sarif = { runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[]; properties: { row: number } }[] }[] };
    const hit = (stdout: string) => {
      const x = (JSON.parse(stdout) as Sarif).runs[0]!.results.find((res) => res.ruleId === 'RMP-DATA-002')!;
      return [x.locations[0]!.physicalLocation.region.startLine, x.properties.row];
    };
    // Rows 2 and 5 hold a quoted field over two lines: row 7 starts on line 1 + 7 + 2 + 1 = 11.
    const rows = csv().trim().split('\n').map((l, i) => (i === 3 || i === 6 ? `${l},"two\nlines"` : `${l},one`));
    rows[0] = 'id,a,b,label,note';
    writeFileSync(path.join(dir, 'ml.csv'), rows.join('\n') + '\n');
    const c = run(['scan', 'ml.csv', '--label', 'label', '--id', 'id', '--format', 'sarif']);
    expect(c.status, c.stderr).toBe(1);
    expect(hit(c.stdout)).toEqual([11, 7]);
    // JSON Lines, blank lines before rows 3 and 5: row 7 is on line 7 + 2 + 1 = 10.
    const jl = csv()
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => {
        const [id, a, b, label] = l.split(',');
        return JSON.stringify({ id, a: Number.isNaN(Number(a)) ? a : Number(a), b: Number(b), label });
      });
    jl.splice(5, 0, '');
    jl.splice(3, 0, '   ');
    writeFileSync(path.join(dir, 'bl.jsonl'), jl.join('\n') + '\n');
    const j = run(['scan', 'bl.jsonl', '--label', 'label', '--id', 'id', '--format', 'sarif']);
    expect(j.status, j.stderr).toBe(1);
    expect(hit(j.stdout)).toEqual([10, 7]);
  });

  it('with --data-baseline, findings on new and changed rows come first and are marked', () => {
    writeFileSync(path.join(dir, 'old2.csv'), csv());
    // Row 3 changed and row 40 added, both with a non-numeric value; row 7 (old) has one too.
    writeFileSync(path.join(dir, 'new2.csv'), csv(['40,0.1,bad,x']).replace('\n3,10.3,', '\n3,zzz,'));
    expect(run(['dataset', 'baseline', 'old2.csv', '--label', 'label', '--id', 'id', '-o', 'base2.json']).status).toBe(0);
    const r = run(['scan', 'new2.csv', '--label', 'label', '--id', 'id', '--data-baseline', 'base2.json', '--no-neighbours', '--format', 'json']);
    expect(r.status, r.stderr).toBe(1);
    const f = (JSON.parse(r.stdout) as { findings: { ruleId: string; location?: { row: number }; details?: { newSinceBaseline?: boolean } }[] }).findings;
    const typeRows = f.filter((x) => x.ruleId === 'RMP-DATA-002').map((x) => x.location!.row);
    expect(typeRows).toEqual([3, 40, 7]);
    const firstOld = f.findIndex((x) => x.details?.newSinceBaseline !== true);
    expect(f.slice(firstOld).some((x) => x.details?.newSinceBaseline === true)).toBe(false);
    const t = run(['scan', 'new2.csv', '--label', 'label', '--id', 'id', '--data-baseline', 'base2.json', '--no-neighbours']);
    expect(t.stdout).toMatch(/RMP-DATA-002 .*row 3 \[3\] \(new since baseline\)/);
    // Same with a baseline recorded without --id (rows matched by content).
    expect(run(['dataset', 'baseline', 'old2.csv', '--label', 'label', '-o', 'base2c.json']).status).toBe(0);
    const c = run(['scan', 'new2.csv', '--label', 'label', '--id', 'id', '--data-baseline', 'base2c.json', '--no-neighbours', '--format', 'json']);
    const fc = (JSON.parse(c.stdout) as { findings: { ruleId: string; location?: { row: number } }[] }).findings;
    expect(fc.filter((x) => x.ruleId === 'RMP-DATA-002').map((x) => x.location!.row)).toEqual([3, 40, 7]);
  });

  it('--write-clean/--quarantine of a Parquet file write Parquet; an unsupported name exits 2 before scanning', async () => {
    const n = 40;
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'a', data: Array.from({ length: n }, (_, i) => (i === 7 ? 1e9 : (i % 2) * 10 + (i % 5) / 10)), type: 'DOUBLE' },
        { name: 'b', data: Array.from({ length: n }, (_, i) => (i % 2) * 10 - (i % 3) / 10), type: 'DOUBLE' },
        { name: 'note', data: Array.from({ length: n }, (_, i) => `row ${i}`), type: 'STRING' },
        { name: 'label', data: Array.from({ length: n }, (_, i) => (i % 2 ? 'y' : 'x')), type: 'STRING' },
      ],
    });
    writeFileSync(path.join(dir, 'p.parquet'), new Uint8Array(buf));
    const r = run(['scan', 'p.parquet', '--label', 'label', '--fail-on', 'medium', '--no-neighbours', '--format', 'json', '--write-clean', 'pc.parquet', '--quarantine', 'pq.parquet']);
    expect(r.status, r.stderr).toBe(1);
    const rowsOf = async (f: string) => {
      const b = readFileSync(path.join(dir, f));
      return (await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) })) as { note: string }[];
    };
    const q = await rowsOf('pq.parquet');
    const c = await rowsOf('pc.parquet');
    expect(q.map((x) => x.note)).toContain('row 7');
    expect(q.length + c.length).toBe(n);
    expect(r.stderr).toContain(`${c.length} clean rows, ${q.length} quarantined`);
    const bad = run(['scan', 'p.parquet', '--label', 'label', '--write-clean', 'out.csv']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED');
    expect(bad.stdout).toBe('');
    expect(existsSync(path.join(dir, 'out.csv'))).toBe(false);
  });

  it('--chunk-rows scans in chunks: same findings without the k-NN checks, a note on stderr, bad values refused', () => {
    writeFileSync(path.join(dir, 'ch.csv'), csv());
    const whole = run(['scan', 'ch.csv', '--label', 'label', '--id', 'id', '--no-neighbours', '--format', 'json']);
    const chunked = run(['scan', 'ch.csv', '--label', 'label', '--id', 'id', '--chunk-rows', '8', '--format', 'json']);
    expect(chunked.status, chunked.stderr).toBe(1);
    const strip = (o: string) => (JSON.parse(o) as { findings: unknown[] }).findings;
    expect(strip(chunked.stdout)).toEqual(strip(whole.stdout));
    expect(chunked.stderr).toContain('chunked scan: RMP-DATA-012, RMP-DATA-020');
    for (const bad of ['0', '2.5', 'x']) expect(run(['scan', 'ch.csv', '--label', 'label', '--chunk-rows', bad]).status).toBe(2);
  });
});
