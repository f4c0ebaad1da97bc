// `rampart baseline MODEL --from FILE`: builds the per-model baseline the `tensor` guard scores
// KServe v2 inputs against (docs/guards.md, "tensor"), and optionally calibrates feature squeezing
// by querying the model server (--squeeze-from URL).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type * as UndiciModule from 'undici';

type Undici = typeof UndiciModule;
import { UsageError } from '../../core/errors.js';
import type { InferCall } from '../../guards/tensor/squeeze-run.js';

interface BaselineFlags {
  from: string;
  output?: string;
  input?: string;
  label?: string;
  imageShape?: string;
  squeezeFrom?: string;
  squeezeRows: string;
  ca?: string;
  header: string[];
}

function parseImageShape(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--image-shape must look like 8x8 (height x width); got "${v}"`);
  return [Number(m[1]), Number(m[2])];
}

/** An infer call to `base`/v2/models/MODEL/infer over HTTP(S). */
function httpInfer(undici: Undici, base: string, model: string, ca: string | undefined, headers: string[]): { call: InferCall; close: () => Promise<void> } {
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(model)}/infer`);
  } catch {
    throw new UsageError(`--squeeze-from must be a URL; got "${base}"`);
  }
  const extra: Record<string, string> = {};
  for (const h of headers) {
    const i = h.indexOf(':');
    if (i < 1) throw new UsageError(`--header must look like "name: value"`);
    extra[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const { Agent, request } = undici;
  const dispatcher = new Agent({ connect: ca ? { ca: readFileSync(ca) } : {}, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const call: InferCall = async (body) => {
    const res = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify(body) });
    const text = await res.body.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: the status says what went wrong */
    }
    return { status: res.statusCode, body: parsed };
  };
  return { call, close: () => dispatcher.close() };
}

export function register(program: Command): void {
  program
    .command('baseline')
    .description('build a tensor model\'s baseline from legitimate inputs for the `tensor` guard (docs/guards.md)')
    .argument('<model>', 'model name as configured in the gateway (the baseline applies to it)')
    .requiredOption('--from <file>', 'legitimate inputs: JSON Lines of KServe v2 infer requests, or a feature matrix (CSV, .npy, .npz, Parquet, JSON Lines; gzip ok)')
    .option('-o, --output <file>', 'baseline file to write (default MODEL.baseline.json)')
    .option('--input <name>', 'v2 input to use when the requests have several; name of the input for a feature matrix (default "input")')
    .option('--label <column>', 'a label column of a feature matrix to leave out (name, or 0-based index without a header)')
    .option('--image-shape <HxW>', 'rows are images of this size (enables median smoothing in feature squeezing), e.g. 8x8')
    .option('--squeeze-from <url>', 'calibrate feature squeezing by querying this KServe v2 server (or the gateway) on the rows')
    .option('--squeeze-rows <n>', 'most rows used for the squeezing calibration (evenly spaced)', '1000')
    .option('--ca <file>', 'PEM CA bundle for an HTTPS --squeeze-from')
    .option('-H, --header <header>', 'extra header for --squeeze-from calls, e.g. "authorization: Bearer KEY" (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (model: string, flags: BaselineFlags) => {
      const imageShape = parseImageShape(flags.imageShape);
      const squeezeRows = Number(flags.squeezeRows);
      if (!Number.isInteger(squeezeRows) || squeezeRows < 1) throw new UsageError('--squeeze-rows must be a whole number >= 1');
      const out = flags.output ?? `${model.replace(/[^A-Za-z0-9._-]/g, '_')}.baseline.json`;
      const { buildBaseline, calibrateSqueeze, writeBaseline } = await import('../../guards/tensor/baseline.js');
      const { readBaselineRows } = await import('../../guards/tensor/baseline-input.js');
      const { TensorSqueezeCalibrationError } = await import('../../guards/tensor/errors.js');
      const rows = await readBaselineRows(flags.from, { input: flags.input, label: flags.label, imageShape });
      let baseline = buildBaseline({
        model,
        input: { name: rows.inputName, datatype: rows.datatype, rowShape: rows.rowShape },
        imageShape: imageShape ?? null,
        sourceFile: basename(flags.from),
        x: rows.x,
        n: rows.n,
        d: rows.d,
      });
      if (flags.squeezeFrom) {
        const { call, close } = httpInfer(await import('undici'), flags.squeezeFrom, model, flags.ca, flags.header);
        try {
          const k = Math.min(rows.n, squeezeRows);
          const sample = Array.from({ length: k }, (_, i) => {
            const r = Math.floor((i * rows.n) / k);
            return rows.x.subarray(r * rows.d, (r + 1) * rows.d);
          });
          const r = await calibrateSqueeze(baseline, sample, call, { datatype: rows.datatype ?? 'FP32' }).catch((e: unknown) => {
            throw new TensorSqueezeCalibrationError(`cannot reach ${flags.squeezeFrom}: ${(e as { code?: string }).code ?? (e as Error).message}`, { cause: e });
          });
          if (!r.ok) throw new TensorSqueezeCalibrationError(r.reason);
          baseline = r.baseline;
        } finally {
          await close();
        }
      }
      writeBaseline(out, baseline);
      const sq = baseline.scores.squeeze ? `, squeezing calibrated on ${Math.min(rows.n, squeezeRows)} rows` : '';
      process.stderr.write(`rampart: baseline of model ${model} (${rows.n} rows, ${rows.d} features, input "${rows.inputName}"${sq}) written to ${out}\n`);
    });
}
