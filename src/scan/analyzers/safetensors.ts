// safetensors analyzer. The format (huggingface/safetensors, docs "safetensors format"): an 8-byte
// little-endian unsigned header length N, N bytes of UTF-8 JSON (an object; trailing spaces
// allowed as padding), then the data section. Each JSON key other than `__metadata__` names a
// tensor {dtype, shape, data_offsets: [begin, end]} with offsets relative to the data section;
// `__metadata__` is a string-to-string map. The reference loader rejects headers over 100 MB,
// offsets that do not tile the data section exactly (no gaps, no overlap) and byte lengths that
// differ from shape × dtype size. Other loaders are laxer, so every such deviation is a finding:
// a malformed header is where parser differentials, hidden payloads and memory exhaustion live.
// Tensor data is never read.
import { defineRules } from '../rules.js';
import type { Analyzer, AnalyzeContext, ByteSource } from '../types.js';
import { clip, decodeUtf8, isPlainObject, readRange } from './model-io.js';

const DOCS = 'docs/rules.md#safetensors';
const SPEC = 'https://huggingface.co/docs/safetensors/index';

export const SAFETENSORS_RULES = defineRules([
  {
    id: 'RMP-SAFETENSORS-001',
    severity: 'high',
    title: 'safetensors header length is invalid or oversized',
    description:
      'The 8-byte header length is zero, larger than the file, or larger than the 100 MB the reference loader accepts. Loaders that trust it allocate that much memory; the file is not a valid safetensors file.',
    remediation: 'Do not load the file; re-export the weights with the safetensors library.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-SAFETENSORS-002',
    severity: 'high',
    title: 'safetensors header is not a valid JSON object',
    description: 'The header is not valid UTF-8, not valid JSON, not an object, or holds bytes after the JSON other than space padding.',
    remediation: 'Do not load the file; re-export the weights with the safetensors library.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-SAFETENSORS-003',
    severity: 'high',
    title: 'safetensors tensor entry is malformed',
    description: 'A tensor entry lacks dtype, shape or data_offsets, names an unknown dtype, or has a shape that is not a list of non-negative integers.',
    remediation: 'Do not load the file; re-export the weights with the safetensors library.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-SAFETENSORS-004',
    severity: 'high',
    title: 'safetensors tensor offsets are out of bounds, overlapping or inconsistent',
    description:
      'A tensor\'s data_offsets point outside the data section, overlap another tensor, or span a byte length different from shape × dtype size. Loaders disagree on such files (parser differential), which can hide or alias weights.',
    remediation: 'Do not load the file; re-export the weights with the safetensors library.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-SAFETENSORS-005',
    severity: 'medium',
    title: 'safetensors data section has unaccounted bytes',
    description:
      'Bytes of the data section are not covered by any tensor (gaps between tensors or trailing data). The reference loader refuses such files; the bytes can carry a hidden payload (a polyglot file).',
    remediation: 'Inspect the unaccounted bytes; re-export the weights with the safetensors library.',
    links: [DOCS, SPEC],
  },
  {
    id: 'RMP-SAFETENSORS-006',
    severity: 'medium',
    title: 'safetensors __metadata__ is not a string map',
    description: 'The __metadata__ entry must map strings to strings; other values are rejected by the reference loader and may target laxer parsers.',
    remediation: 'Re-export the weights with string-only metadata.',
    links: [DOCS, SPEC],
  },
] as const);

/** The reference implementation's cap on the header length (MAX_HEADER_SIZE). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bits per element of each dtype the format defines. */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

/** Most findings of one kind reported per file; the rest are counted in the last message. */
const MAX_PER_RULE = 20;

function headerLength(head: Uint8Array): number | undefined {
  if (head.length < 8) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER; // beyond 2^53: certainly invalid
  return hi * 0x100000000 + lo;
}

export const safetensorsAnalyzer: Analyzer = {
  id: 'safetensors',
  format: 'safetensors',
  detect(head, source) {
    // A length that fits the file, then a JSON object opening with a quoted key or closing brace.
    const n = headerLength(head);
    if (n === undefined || n < 2 || n > source.size - 8) return false;
    if (head[8] !== 0x7b) return false;
    let i = 9;
    while (i < head.length && i < 8 + n && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
    return i >= head.length || head[i] === 0x22 || head[i] === 0x7d;
  },
  async analyze(source: ByteSource, ctx: AnalyzeContext) {
    const head = await readRange(source, 0, 8);
    const n = headerLength(head);
    if (n === undefined || n === 0 || n > source.size - 8 || n > SAFETENSORS_MAX_HEADER) {
      ctx.report({
        ruleId: 'RMP-SAFETENSORS-001',
        message:
          n === undefined
            ? 'File too short for a safetensors header length'
            : `Header length ${n} is ${n === 0 ? 'zero' : n > source.size - 8 ? `larger than the file (${source.size} bytes)` : `over the ${SAFETENSORS_MAX_HEADER}-byte cap`}`,
        location: { offset: 0 },
        details: { headerLength: n ?? null, fileSize: source.size },
      });
      return;
    }
    const text = decodeUtf8(await readRange(source, 8, n));
    let header: unknown;
    let parseError: string | undefined;
    if (text === undefined) parseError = 'header is not valid UTF-8';
    else {
      const trimmed = text.replace(/ +$/, '');
      if (!trimmed.trimStart().startsWith('{') || !trimmed.endsWith('}')) parseError = 'header is not a JSON object followed only by space padding';
      else {
        try {
          header = JSON.parse(trimmed);
        } catch (e) {
          parseError = `header is not valid JSON (${clip((e as Error).message, 80)})`;
        }
      }
    }
    if (parseError !== undefined || !isPlainObject(header)) {
      ctx.report({ ruleId: 'RMP-SAFETENSORS-002', message: parseError ?? 'Header is not a JSON object', location: { offset: 8 } });
      return;
    }
    checkHeader(header, n, source.size, ctx);
  },
};

interface Span {
  name: string;
  begin: number;
  end: number;
}

function checkHeader(header: Record<string, unknown>, n: number, fileSize: number, ctx: AnalyzeContext): void {
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  const counts = new Map<string, number>();
  const report = (ruleId: string, message: string, record?: string, details?: Record<string, unknown>): void => {
    const c = (counts.get(ruleId) ?? 0) + 1;
    counts.set(ruleId, c);
    if (c <= MAX_PER_RULE) ctx.report({ ruleId, message, location: record === undefined ? { offset: 8 } : { offset: 8, record }, details });
  };
  const spans: Span[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      const ok = isPlainObject(entry) && Object.values(entry).every((v) => typeof v === 'string');
      if (!ok) report('RMP-SAFETENSORS-006', '__metadata__ is not a map of strings to strings', name);
      continue;
    }
    const label = clip(name, 80);
    if (!isPlainObject(entry)) {
      report('RMP-SAFETENSORS-003', `Tensor "${label}" is not an object`, name);
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry;
    const bits = typeof dtype === 'string' ? DTYPE_BITS[dtype] : undefined;
    if (bits === undefined) {
      report('RMP-SAFETENSORS-003', `Tensor "${label}" has ${typeof dtype === 'string' ? `unknown dtype ${clip(dtype, 20)}` : 'no dtype'}`, name);
      continue;
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      report('RMP-SAFETENSORS-003', `Tensor "${label}" has a shape that is not a list of non-negative integers`, name);
      continue;
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      report('RMP-SAFETENSORS-003', `Tensor "${label}" has data_offsets that are not two non-negative integers`, name);
      continue;
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLen) {
      report('RMP-SAFETENSORS-004', `Tensor "${label}" data_offsets [${begin}, ${end}] fall outside the ${dataLen}-byte data section`, name, {
        begin,
        end,
        dataLength: dataLen,
      });
      continue;
    }
    let elements = 1;
    for (const d of shape as number[]) {
      elements *= d;
      if (!Number.isSafeInteger(elements)) break;
    }
    const expected = Number.isSafeInteger(elements) ? (elements * bits) / 8 : Number.POSITIVE_INFINITY;
    if (expected !== end - begin) {
      report(
        'RMP-SAFETENSORS-004',
        `Tensor "${label}" spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${Number.isFinite(expected) ? expected : 'more than 2^53'}`,
        name,
        { begin, end, expectedBytes: Number.isFinite(expected) ? expected : null },
      );
    }
    spans.push({ name, begin, end });
  }
  // Tiling of the data section: sort by start, then every span must start where the last ended.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let gapBytes = 0;
  for (const s of spans) {
    if (s.begin < cursor && s.end > s.begin) {
      report('RMP-SAFETENSORS-004', `Tensor "${clip(s.name, 80)}" overlaps the tensor before it (starts at ${s.begin}, previous ends at ${cursor})`, s.name);
    } else if (s.begin > cursor) {
      gapBytes += s.begin - cursor;
    }
    cursor = Math.max(cursor, s.end);
  }
  const trailing = dataLen - cursor;
  if (gapBytes > 0 || trailing > 0) {
    report(
      'RMP-SAFETENSORS-005',
      `${gapBytes + trailing} byte(s) of the data section belong to no tensor (${gapBytes} in gaps, ${trailing} after the last tensor)`,
      undefined,
      { gapBytes, trailingBytes: trailing },
    );
  }
  for (const [ruleId, c] of counts) {
    if (c > MAX_PER_RULE) ctx.report({ ruleId, message: `${c - MAX_PER_RULE} more finding(s) of this rule not listed`, location: { offset: 8 } });
  }
}
