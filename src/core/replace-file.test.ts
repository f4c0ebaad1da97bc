// writeFileReplacing: whole-or-nothing for regular files, never replaces a FIFO or device with a
// regular file (regression: `rampart scan -o /dev/null` as root turned /dev/null into a file), and
// keeps a symbolic link while replacing the file it points at.
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replaceTarget, writeFileReplacing } from './replace-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-replace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileReplacing', () => {
  it('writes a new or regular file through a temporary name and leaves none behind', () => {
    const f = path.join(dir, 'a.json');
    writeFileReplacing(f, 'one');
    writeFileReplacing(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(replaceTarget(f).tmp).toBe(`${f}.${process.pid}.tmp`);
    expect(() => writeFileReplacing(path.join(dir, 'missing', 'b.json'), 'x')).toThrow();
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces the file a symbolic link points at and keeps the link', () => {
    const real = path.join(dir, 'real.txt');
    const link = path.join(dir, 'link.txt');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    writeFileReplacing(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe('new');
  });

  it('writes into a FIFO instead of renaming a regular file over it', async () => {
    const fifo = path.join(dir, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return; // no mkfifo on this system
    const out = path.join(dir, 'from-pipe.txt');
    const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, out]);
    const killer = setTimeout(() => reader.kill(), 10_000);
    expect(replaceTarget(fifo).tmp).toBeUndefined();
    writeFileReplacing(fifo, 'through the pipe');
    await new Promise((res) => reader.once('exit', res));
    clearTimeout(killer);
    expect(readFileSync(out, 'utf8')).toBe('through the pipe');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});
