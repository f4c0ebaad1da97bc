// writeFileReplacing: whole-or-nothing for regular files, never replaces a FIFO or device with a
// regular file (regression: `rampart scan -o /dev/null` as root turned /dev/null into a file), and
// keeps a symbolic link while replacing the file it points at.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainFifo, makeFifo } from '../../test/helpers/fifo.js';
import { replaceTarget, withFileReplacing, writeFileReplacing } from './replace-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rampart-replace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileReplacing', () => {
  it('writes a new or regular file through a temporary name and leaves none behind', () => {
    const f = path.join(dir, 'a.json');
    writeFileReplacing(f, 'one');
    writeFileReplacing(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    // A fresh name beside the file each time, created exclusively (never a planted one).
    const tmp = replaceTarget(f).tmp!;
    expect(path.dirname(tmp)).toBe(dir);
    expect(path.basename(tmp)).toMatch(new RegExp(`^a\\.json\\.${process.pid}-[0-9a-f]{12}\\.tmp$`));
    expect(replaceTarget(f).tmp).not.toBe(tmp);
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

describe('writeFileReplacing: links, modes, refusals', () => {
  it('follows a dangling symbolic link: creates the file it names and keeps the link', () => {
    const link = path.join(dir, 'dangling.json');
    const real = path.join(dir, 'not-yet.json');
    symlinkSync('not-yet.json', link);
    writeFileReplacing(link, 'made');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('made');
  });

  it('keeps the mode of the file it replaces, and sets an explicit mode exactly', () => {
    const f = path.join(dir, 'mode.txt');
    writeFileSync(f, 'x');
    chmodSync(f, 0o640);
    writeFileReplacing(f, 'y');
    expect(statSync(f).mode & 0o777).toBe(0o640);
    writeFileReplacing(f, 'z', { mode: 0o600 });
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('refuses a FIFO with regularOnly (RAMPART_ERR_OUTPUT_NOT_REGULAR) without opening it', () => {
    const fifo = makeFifo(dir, 'secret-pipe');
    if (!fifo) return;
    // Opening the FIFO would block with no reader; a refusal must come first.
    expect(() => writeFileReplacing(fifo, 'secret', { regularOnly: true })).toThrow(expect.objectContaining({ code: 'RAMPART_ERR_OUTPUT_NOT_REGULAR' }));
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });

  it('removes the temporary file when the rename fails, sync and streamed', async () => {
    // The target turns into a non-empty folder after the temporary file is chosen: rename fails.
    const turnIntoFolder = (f: string) => () => {
      mkdirSync(path.join(f, 'inside'), { recursive: true });
      return () => undefined;
    };
    const a = path.join(dir, 'rename-fails-a');
    expect(() => writeFileReplacing(a, 'x', { onTemp: turnIntoFolder(a) })).toThrow();
    const b = path.join(dir, 'rename-fails-b');
    await expect(withFileReplacing(b, { onTemp: turnIntoFolder(b) }, async ({ fh }) => void (await fh.write('x')))).rejects.toThrow();
    expect(readdirSync(dir).filter((x) => x.startsWith('rename-fails-') && x.endsWith('.tmp'))).toEqual([]);
  });

  it('reports each temporary path to onTemp and releases it', () => {
    const seen: string[] = [];
    let released = 0;
    writeFileReplacing(path.join(dir, 'tracked.txt'), 'x', { onTemp: (t) => (seen.push(t), () => void released++) });
    expect(seen).toHaveLength(1);
    expect(released).toBe(1);
  });
});

describe('withFileReplacing', () => {
  it('streams into a temporary file renamed over the target, fsynced when asked', async () => {
    const f = path.join(dir, 'stream.txt');
    writeFileSync(f, 'old');
    const r = await withFileReplacing(f, { fsync: true }, async ({ fh, direct }) => {
      expect(direct).toBe(false);
      await fh.write('new');
      expect(readFileSync(f, 'utf8')).toBe('old');
      return 7;
    });
    expect(r).toBe(7);
    expect(readFileSync(f, 'utf8')).toBe('new');
  });

  it('on failure removes the temporary file and leaves the old file as it was', async () => {
    const f = path.join(dir, 'fails.txt');
    writeFileSync(f, 'kept');
    await expect(
      withFileReplacing(f, {}, async ({ fh }) => {
        await fh.write('partial');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(readFileSync(f, 'utf8')).toBe('kept');
    expect(readdirSync(dir).filter((x) => x.startsWith('fails.txt.'))).toEqual([]);
  });

  it('writes straight into a FIFO (direct, no rename) and through a symbolic link', async () => {
    const fifo = makeFifo(dir, 'async-pipe');
    if (!fifo) return;
    const got = drainFifo(fifo);
    await withFileReplacing(fifo, {}, async ({ fh, direct }) => {
      expect(direct).toBe(true);
      await fh.write('piped');
    });
    expect((await got).toString()).toBe('piped');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const real = path.join(dir, 'async-real.txt');
    const link = path.join(dir, 'async-link.txt');
    writeFileSync(real, 'a');
    symlinkSync(real, link);
    await withFileReplacing(link, {}, async ({ fh }) => void (await fh.write('b')));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('b');
  });

  it('refuses a FIFO with regularOnly', async () => {
    const fifo = makeFifo(dir, 'async-secret');
    if (!fifo) return;
    await expect(withFileReplacing(fifo, { regularOnly: true }, async () => undefined)).rejects.toMatchObject({ code: 'RAMPART_ERR_OUTPUT_NOT_REGULAR' });
  });
});
