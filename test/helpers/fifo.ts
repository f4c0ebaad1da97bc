// Named pipes for tests of output paths: `-o` pointed at a FIFO must be written into, never
// replaced by a regular file. Reading is done by a child process (`cat` into a file), so a
// synchronous writer in the test process cannot deadlock against its own reader.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Creates a FIFO `name` in `dir`; undefined where mkfifo is unavailable (the test then skips). */
export function makeFifo(dir: string, name = 'pipe'): string | undefined {
  const fifo = path.join(dir, name);
  return spawnSync('mkfifo', [fifo]).status === 0 ? fifo : undefined;
}

/**
 * Starts reading `fifo` to its end in a child process; the promise resolves with what was read
 * once the writer closes it (or rejects after `timeoutMs`, killing the reader).
 */
export function drainFifo(fifo: string, timeoutMs = 20_000): Promise<Buffer> {
  const out = `${fifo}.read`;
  const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, out], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reader.kill();
      reject(new Error(`nothing closed ${fifo} within ${timeoutMs} ms`));
    }, timeoutMs);
    reader.once('exit', () => {
      clearTimeout(timer);
      try {
        resolve(readFileSync(out));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}
