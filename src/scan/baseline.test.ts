// --write-baseline output: a FIFO or device is written into (regression: the temporary file was
// renamed over it), a symbolic link is followed, and a failed write leaves nothing behind.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../test/helpers/fifo.js';
import { makeBaseline, writeBaselineFile } from './baseline.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-scan-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const baseline = makeBaseline([{ ruleId: 'RMP-PKL-001', severity: 'critical', message: 'm', file: 'a.pkl', location: { offset: 3 } }] as never);

describe('writeBaselineFile (--write-baseline)', () => {
  it('writes into a FIFO instead of replacing it', async () => {
    const fifo = makeFifo(dir);
    if (!fifo) return;
    const got = drainFifo(fifo);
    writeBaselineFile(fifo, baseline);
    expect(JSON.parse((await got).toString())).toEqual(baseline);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('replaces the file a symbolic link points at, keeping the link', () => {
    const real = path.join(dir, 'real.json');
    const link = path.join(dir, 'link.json');
    writeFileSync(real, '{}');
    symlinkSync('real.json', link);
    writeBaselineFile(link, baseline);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual(baseline);
  });

  it('fails without leaving a partial or temporary file', () => {
    expect(() => writeBaselineFile(path.join(dir, 'missing', 'b.json'), baseline)).toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
