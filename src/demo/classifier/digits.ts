// The 8×8 digits data set (examples/data/digits.csv.gz): parsing (pure) and loading (reads the
// file shipped with the package; never anything outside it).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DemoDataInvalidError } from '../errors.js';
import type { Dataset } from './model.js';

export const DIGITS_FEATURES = 64;
export const DIGITS_CLASSES = 10;
/** Pixel values are counts of ink pixels in a 4×4 block: 0..16. */
export const DIGITS_MAX_PIXEL = 16;

/** Absolute path of the package's `examples/` folder (works from src/ and from dist/). */
export function examplesDir(): string {
  return fileURLToPath(new URL('../../../examples/', import.meta.url));
}

export function digitsFile(): string {
  return fileURLToPath(new URL('../../../examples/data/digits.csv.gz', import.meta.url));
}

/** Parses the CSV text: 64 integer pixels 0..16 then the label 0..9 per line, no header. */
export function parseDigitsCsv(text: string): Dataset {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const d = DIGITS_FEATURES;
  const x = new Float64Array(lines.length * d);
  const y = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    if (cells.length !== d + 1) throw new DemoDataInvalidError(`digits line ${r + 1}: expected ${d + 1} values, found ${cells.length}`);
    for (let c = 0; c <= d; c++) {
      const s = cells[c]!.trim();
      const v = /^\d{1,2}(\.0+)?$/.test(s) ? Number(s) : NaN;
      const max = c === d ? DIGITS_CLASSES - 1 : DIGITS_MAX_PIXEL;
      if (!(v >= 0 && v <= max)) throw new DemoDataInvalidError(`digits line ${r + 1}, column ${c + 1}: bad value`);
      if (c === d) y[r] = v;
      else x[r * d + c] = v;
    }
  });
  if (lines.length === 0) throw new DemoDataInvalidError('digits data set is empty');
  return { n: lines.length, d, x, y };
}

/** Reads and parses the digits data set (default: the copy under examples/data). */
export function loadDigits(file: string = digitsFile()): Dataset {
  let text: string;
  try {
    text = gunzipSync(readFileSync(file)).toString('utf8');
  } catch (e) {
    throw new DemoDataInvalidError(`cannot read the digits data set: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseDigitsCsv(text);
}
