// NumPy .npy files (v1, v2, v3 headers): the header is a Python dict literal giving dtype, order
// and shape. Arrays of object dtype are stored as a pickle right after the header, which
// numpy.load unpickles when allow_pickle=True: that pickle is analysed. For other dtypes the data
// length must match the shape; extra bytes are reported and searched for embedded pickles.
// (Format: numpy/lib/format.py, "NPY format" documentation.)
import type { Analyzer } from '../types.js';
import { readRange } from '../byte-source.js';
import { isNpyHead } from './magic.js';
import { defineRules } from '../rules.js';
import { scanPickleStream, searchEmbeddedPickles } from './pickle/analyzer.js';
import { decodeLatin1 } from './pickle/text.js';

export const NUMPY_RULES = defineRules([
  {
    id: 'RMP-NUMPY-001',
    severity: 'medium',
    title: 'NumPy array of object dtype (pickle inside)',
    description: 'The .npy array has an object dtype, so its data is a pickle that numpy.load(allow_pickle=True) executes. The pickle was analysed; its own findings are reported separately.',
    remediation: 'Store numeric arrays only; never load object arrays from untrusted sources.',
    links: ['docs/rules.md'],
  },
  {
    id: 'RMP-NUMPY-002',
    severity: 'medium',
    title: 'Malformed NumPy header or data length',
    description: 'The .npy header cannot be parsed, or the data is shorter or longer than dtype and shape say. Extra data was searched for embedded pickles.',
    remediation: 'Re-export the array from its source.',
    links: ['docs/rules.md'],
  },
] as const);

interface NpyHeader {
  descr: string;
  shape: number[];
  dataStart: number;
  objectDtype: boolean;
  itemsize?: number;
}

function parseHeader(text: string): { descr: string; shape: number[]; structuredObject: boolean } | undefined {
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  const list = /['"]descr['"]\s*:\s*\[/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!shape || (!descr && !list)) return undefined;
  const dims = shape[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (dims.some((d) => !/^\d+L?$/.test(d))) return undefined;
  // Structured dtypes: any field of kind O makes the whole array an object array.
  const structuredObject = list !== null && /['"][<>|=]?O\d*['"]/.test(text);
  return { descr: descr?.[2] ?? 'structured', shape: dims.map((d) => Number.parseInt(d, 10)), structuredObject };
}

async function readHeader(source: Parameters<Analyzer['analyze']>[0]): Promise<NpyHeader | string> {
  const pre = await readRange(source, 0, 12);
  if (pre.length < 10) return 'file ends inside the .npy preamble';
  const major = pre[6]!;
  if (major > 1 && pre.length < 12) return 'file ends inside the .npy preamble';
  if (major < 1 || major > 3) return `unsupported .npy version ${major}`;
  const dv = new DataView(pre.buffer, pre.byteOffset, pre.length);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hlen > 1 << 20) return `header of ${hlen} bytes`;
  const text = decodeLatin1(await readRange(source, hstart, hlen));
  const h = parseHeader(text);
  if (!h) return 'header is not a valid descr/shape dictionary';
  const m = /^[<>|=]?([a-zA-Z])(\d*)$/.exec(h.descr);
  const objectDtype = h.structuredObject || (m !== null && m[1] === 'O');
  let itemsize: number | undefined;
  if (m && m[1] !== 'O' && m[2]) itemsize = Number(m[2]) * (m[1] === 'U' ? 4 : 1);
  else if (m && (m[1] === '?' || m[1] === 'b' || m[1] === 'B')) itemsize = 1;
  return { descr: h.descr, shape: h.shape, dataStart: hstart + hlen, objectDtype, itemsize };
}

export const npyAnalyzer: Analyzer = {
  id: 'npy',
  format: 'numpy',
  detect: (head) => isNpyHead(head),
  async analyze(source, ctx) {
    const h = await readHeader(source);
    if (typeof h === 'string') {
      ctx.report({ ruleId: 'RMP-NUMPY-002', message: h });
      await searchEmbeddedPickles(source, ctx, 6);
      return;
    }
    if (h.objectDtype) {
      ctx.report({ ruleId: 'RMP-NUMPY-001', message: `object array (dtype ${h.descr}, shape (${h.shape.join(', ')})): its data is a pickle`, location: { offset: h.dataStart } });
      await scanPickleStream(source, ctx, { start: h.dataStart, loader: 'numpy' });
      return;
    }
    if (h.itemsize === undefined) return;
    const expected = h.shape.reduce((a, b) => a * b, 1) * h.itemsize;
    const actual = source.size - h.dataStart;
    if (actual < expected) ctx.report({ ruleId: 'RMP-NUMPY-002', message: `data is ${actual} bytes, dtype and shape need ${expected}` });
    else if (actual > expected) {
      ctx.report({ ruleId: 'RMP-NUMPY-002', message: `${actual - expected} bytes follow the array data`, location: { offset: h.dataStart + expected } });
      await searchEmbeddedPickles(source, ctx, h.dataStart + expected);
    }
  },
};
