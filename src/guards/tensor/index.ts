// The `tensor` guard: adversarial and out-of-distribution input defence for tensor models on
// KServe v2 infer routes. Per request it parses the v2 body strictly (v2.ts), checks each input's
// name, datatype and shape against the model's metadata (explicit options win; else the upstream's
// `GET /v2/models/{name}`, fetched lazily and cached; else the baseline), rejects NaN/Infinity and
// values outside the configured or baseline range, scores each row against the model's baseline
// (Mahalanobis distance with a shrunk covariance and robust z-scores, thresholds as quantiles of
// the legitimate inputs' own scores), and runs feature squeezing through the model itself. See
// docs/guards.md ("tensor").
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { ModelConfig } from '../../config/schema.js';
import { duration } from '../../config/zod-units.js';
import type { Logger } from '../../core/logger.js';
import { mahalanobis, quantileSorted, robustZScore } from '../../detect/ood/index.js';
import { callUpstream, closeUpstreams, createUpstreams, UpstreamAbort, type Upstream } from '../../gateway/upstream.js';
import type { Guard, GuardAction, GuardFactory, GuardReason, GuardVerdict, RequestInput } from '../types.js';
import { readBaseline, squeezeSetup, type TensorBaseline } from './baseline.js';
import { TensorBaselineInvalidError, TensorMetadataError } from './errors.js';
import { squeezeRows, type SqueezeSetup } from './squeeze-run.js';
import { DEFAULT_V2_LIMITS, parseV2Request, shapeMatches, V2_DATATYPES, type V2Tensor } from './v2.js';

const action = z.enum(['block', 'flag']);
const bound = z.union([z.number().finite(), z.array(z.number().finite()).min(1)]);

const inputSpec = z
  .object({
    name: z.string().min(1),
    datatype: z.enum(V2_DATATYPES).optional(),
    /** -1 matches any size (the batch dimension). */
    shape: z.array(z.number().int().min(-1)).max(8).optional(),
    /** Smallest allowed value: one number, or one per feature of a row. */
    min: bound.optional(),
    max: bound.optional(),
  })
  .strict();
export type TensorInputSpec = z.infer<typeof inputSpec>;

export const tensorOptionsSchema = z
  .object({
    /** Baseline files from `rampart baseline` (relative to the config file); each names its model. */
    baselines: z.array(z.string().min(1)).default([]),
    /** Explicit input metadata per model name; wins over the upstream's metadata. */
    models: z.record(z.object({ inputs: z.array(inputSpec).min(1).max(64) }).strict()).default({}),
    metadata: z
      .object({
        /** Fetch `GET /v2/models/{name}` from the upstream when a model has no explicit inputs. */
        fetch: z.boolean().default(true),
        /** How long fetched metadata is used before it is fetched again. */
        refresh: duration.default('10m'),
        /** After a failed fetch, requests fail (onError) for this long before the next try. */
        retryAfter: duration.default('5s'),
      })
      .strict()
      .default({}),
    checks: z
      .object({
        shape: z.boolean().default(true),
        dtype: z.boolean().default(true),
        nonfinite: z.boolean().default(true),
        range: z.boolean().default(true),
        ood: z.boolean().default(true),
        squeeze: z.boolean().default(true),
      })
      .strict()
      .default({}),
    actions: z
      .object({
        shape: action.default('block'),
        dtype: action.default('block'),
        nonfinite: action.default('block'),
        range: action.default('block'),
        ood: action.default('flag'),
        squeeze: action.default('flag'),
      })
      .strict()
      .default({}),
    range: z
      .object({
        /** Slack around a baseline's per-feature [min, max], as a fraction of the feature's span. */
        margin: z.number().min(0).max(10).default(0),
      })
      .strict()
      .default({}),
    ood: z
      .object({
        /** Threshold = this quantile of the legitimate inputs' out-of-fold scores. */
        quantile: z.number().min(0.5).max(1).default(0.99),
      })
      .strict()
      .default({}),
    squeeze: z
      .object({
        /** Threshold = this quantile of the calibration scores in the baseline. */
        quantile: z.number().min(0.5).max(1).default(0.99),
        /** A fixed L1 threshold (0..2) instead of the calibrated quantile. */
        threshold: z.number().positive().max(2).optional(),
        /** Name of the probability output (default: the first output holding probabilities). */
        output: z.string().min(1).optional(),
        /** Rows of one request that are squeezed (the first ones); larger batches squeeze a prefix. */
        maxRows: z.number().int().min(1).max(4096).default(64),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        maxInputs: z.number().int().min(1).max(4096).default(DEFAULT_V2_LIMITS.maxInputs),
        maxElements: z.number().int().min(1).max(100_000_000).default(DEFAULT_V2_LIMITS.maxElements),
        maxRank: z.number().int().min(1).max(32).default(DEFAULT_V2_LIMITS.maxRank),
        maxDepth: z.number().int().min(1).max(64).default(DEFAULT_V2_LIMITS.maxDepth),
      })
      .strict()
      .default({}),
  })
  .strict();

export type TensorOptions = z.infer<typeof tensorOptionsSchema>;
type CheckName = keyof TensorOptions['actions'];

/** What the guard expects of one input of one model. */
interface ExpectedInput {
  name: string;
  datatype?: string;
  shape?: number[];
  min?: number | number[];
  max?: number | number[];
}

const metadataSchema = z.object({
  inputs: z.array(z.object({ name: z.string().min(1), datatype: z.string(), shape: z.array(z.number().int().min(-1)) }).passthrough()).min(1),
});

interface MetaEntry {
  at: number;
  inputs?: ExpectedInput[];
  error?: Error;
  pending?: Promise<void>;
}

/** A baseline with its thresholds worked out for the configured quantiles. */
interface PreparedBaseline {
  b: TensorBaseline;
  mahaThreshold: number;
  rzThreshold: number;
  squeeze: { setup: SqueezeSetup; threshold: number } | null;
}

function prepare(b: TensorBaseline, o: TensorOptions): PreparedBaseline {
  let squeeze: PreparedBaseline['squeeze'] = null;
  const cal = b.scores.squeeze;
  if (cal) squeeze = { setup: squeezeSetup(b, cal.squeezers), threshold: o.squeeze.threshold ?? quantileSorted(cal.sample, o.squeeze.quantile) };
  return {
    b,
    mahaThreshold: quantileSorted(b.scores.mahalanobis.sample, o.ood.quantile),
    rzThreshold: quantileSorted(b.scores.robustZ.sample, o.ood.quantile),
    squeeze,
  };
}

function boundAt(v: number | number[] | undefined, j: number): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : v[j % v.length];
}

const RANK: Record<GuardAction, number> = { allow: 0, flag: 1, redact: 2, block: 3 };

export class TensorGuard implements Guard {
  readonly kind = 'tensor';
  private readonly byModel = new Map<string, PreparedBaseline>();
  private readonly meta = new Map<string, MetaEntry>();
  private readonly upstreams = new Map<string, Upstream>();

  constructor(
    readonly name: string,
    private readonly o: TensorOptions,
    baselines: TensorBaseline[],
    private readonly log: Logger,
  ) {
    for (const b of baselines) this.byModel.set(b.model, prepare(b, o));
  }

  supports(route: string, protocol: string): boolean {
    return protocol === 'kserve' && route === 'kserve.infer';
  }

  /** The prepared baseline of a model (tests and the demo read thresholds from it). */
  baselineOf(model: string): PreparedBaseline | undefined {
    return this.byModel.get(model);
  }

  async checkRequest(input: RequestInput): Promise<GuardVerdict> {
    const o = this.o;
    const parsed = parseV2Request(input.body, o.limits);
    if (!parsed.ok) {
      const p = parsed.problem;
      const check = p.code.slice('tensor.'.length) as CheckName;
      // Malformed or oversized bodies are always refused; the others follow their check's action.
      const act: GuardAction = check in o.actions ? (o.checks[check] ? o.actions[check] : 'allow') : 'block';
      if (act === 'allow') return { action: 'allow', reasons: [] };
      return { action: act, reasons: [{ code: p.code, message: p.message, where: p.where }] };
    }
    const req = parsed.request;
    const model = input.model.name;
    const prepared = this.byModel.get(model);
    const expected = await this.expectedInputs(input.model, prepared);

    const reasons: GuardReason[] = [];
    let verdict = 'allow' as GuardAction;
    let score: number | undefined;
    const add = (check: CheckName, r: GuardReason) => {
      if (!o.checks[check]) return;
      reasons.push(r);
      if (RANK[o.actions[check]] > RANK[verdict]) verdict = o.actions[check];
    };

    if (expected) {
      for (const e of expected) {
        if (!req.inputs.some((t) => t.name === e.name)) add('shape', { code: 'tensor.shape', message: `input "${e.name}" is missing`, where: '/inputs' });
      }
    }
    let baselineTensor: V2Tensor | undefined;
    for (const t of req.inputs) {
      const where = `/inputs/${t.index}`;
      const e = expected?.find((x) => x.name === t.name);
      if (expected && !e) {
        add('shape', { code: 'tensor.shape', message: `the model has no input "${t.name.slice(0, 64)}"`, where: `${where}/name` });
        continue;
      }
      if (e?.datatype && t.datatype !== e.datatype) add('dtype', { code: 'tensor.dtype', message: `input "${t.name}" is ${t.datatype}; the model takes ${e.datatype}`, where: `${where}/datatype` });
      if (e?.shape && !shapeMatches(t.shape, e.shape)) {
        add('shape', { code: 'tensor.shape', message: `input "${t.name}" has shape ${JSON.stringify(t.shape)}; the model takes ${JSON.stringify(e.shape)}`, where: `${where}/shape` });
        continue;
      }
      if (t.nonFinite > 0) add('nonfinite', { code: 'tensor.nonfinite', message: `input "${t.name}" holds ${t.nonFinite} NaN or infinite value(s)`, where: `${where}/data` });
      const rangeMsg = this.rangeProblem(t, e, prepared);
      if (rangeMsg) add('range', { code: 'tensor.range', message: rangeMsg, where: `${where}/data` });
      if (prepared && t.name === prepared.b.input.name) baselineTensor = t;
    }

    // Statistical checks only on a request that passed the hard ones (a blocked request is not
    // worth an extra model call, and NaN would poison the scores).
    if (prepared && baselineTensor && verdict !== 'block') {
      const d = prepared.b.features;
      const t = baselineTensor;
      if (t.values.length % d === 0 && t.values.length > 0 && t.nonFinite === 0) {
        const rows: Float64Array[] = [];
        for (let i = 0; i < t.values.length; i += d) rows.push(t.values.subarray(i, i + d));
        if (o.checks.ood) {
          let worst = 0;
          let worstRow = -1;
          for (const [i, r] of rows.entries()) {
            const ratio = Math.max(mahalanobis(prepared.b.gaussian, r) / prepared.mahaThreshold, robustZScore(prepared.b.robust, r, prepared.b.scores.robustZ.clip) / prepared.rzThreshold);
            if (ratio > worst) [worst, worstRow] = [ratio, i];
          }
          score = Math.max(score ?? 0, worst);
          if (worst > 1) add('ood', { code: 'tensor.ood', message: `row ${worstRow} is out of distribution (score ${worst.toFixed(2)}x the threshold)`, where: `/inputs/${t.index}/data` });
        }
        if (o.checks.squeeze && (verdict as GuardAction) !== 'block') {
          const s = await this.squeezeCheck(input, t, rows.slice(0, o.squeeze.maxRows), prepared, expected);
          if (s.skipped) reasons.push({ code: 'tensor.squeeze-skipped', message: s.skipped });
          else if (s.ratio !== undefined) {
            score = Math.max(score ?? 0, s.ratio);
            if (s.ratio > 1) add('squeeze', { code: 'tensor.squeeze', message: `row ${s.row} changes the model's output under feature squeezing (L1 ${s.l1!.toFixed(3)} over the threshold ${prepared.squeeze!.threshold.toFixed(3)})`, where: `/inputs/${t.index}/data` });
          }
        }
      }
    }
    const out: GuardVerdict = { action: verdict, reasons: verdict === 'allow' ? reasons.filter((r) => r.code === 'tensor.squeeze-skipped') : reasons };
    if (score !== undefined) out.score = Number(score.toFixed(4));
    return out;
  }

  private rangeProblem(t: V2Tensor, e: ExpectedInput | undefined, prepared: PreparedBaseline | undefined): string | null {
    if (t.datatype === 'BYTES') return null;
    const v = t.values;
    if (e && (e.min !== undefined || e.max !== undefined)) {
      const per = typeof e.min === 'object' ? e.min.length : typeof e.max === 'object' ? e.max.length : 1;
      for (let i = 0; i < v.length; i++) {
        const lo = boundAt(e.min, i % per);
        const hi = boundAt(e.max, i % per);
        if ((lo !== undefined && v[i]! < lo) || (hi !== undefined && v[i]! > hi)) return `input "${t.name}": element ${i} is outside the configured range`;
      }
      return null;
    }
    if (!prepared || prepared.b.input.name !== t.name) return null;
    const { min, max } = prepared.b.range;
    const d = prepared.b.features;
    if (v.length % d !== 0) return null;
    const m = this.o.range.margin;
    let count = 0;
    let first = -1;
    for (let i = 0; i < v.length; i++) {
      const j = i % d;
      const slack = m * (max[j]! - min[j]!);
      if (v[i]! < min[j]! - slack || v[i]! > max[j]! + slack) {
        if (first < 0) first = i;
        count++;
      }
    }
    return count ? `input "${t.name}": ${count} value(s) outside the baseline's range (first: row ${Math.floor(first / d)}, feature ${first % d})` : null;
  }

  private async squeezeCheck(
    input: RequestInput,
    t: V2Tensor,
    rows: Float64Array[],
    prepared: PreparedBaseline,
    expected: ExpectedInput[] | undefined,
  ): Promise<{ skipped?: string; ratio?: number; l1?: number; row?: number }> {
    if (!prepared.squeeze) return { skipped: 'feature squeezing is not calibrated in the baseline (rampart baseline --squeeze-from)' };
    const e = expected?.find((x) => x.name === t.name);
    const batch = !e?.shape || e.shape[0] === -1;
    const rowShape = t.shape.length > 1 ? t.shape.slice(1) : [prepared.b.features];
    const res = await squeezeRows(rows, prepared.squeeze.setup, { name: t.name, datatype: t.datatype, rowShape }, (body) => input.callModel(body), {
      batch,
      outputName: this.o.squeeze.output ?? prepared.b.scores.squeeze?.output ?? undefined,
    });
    if (!res.ok) return { skipped: `feature squeezing skipped: ${res.reason}` };
    let best = -1;
    let row = 0;
    res.scores.forEach((s, i) => {
      if (s > best) [best, row] = [s, i];
    });
    return { ratio: best / prepared.squeeze.threshold, l1: best, row };
  }

  /** Inputs of a model: explicit options, else the upstream's metadata, else the baseline's input. */
  private async expectedInputs(model: ModelConfig, prepared: PreparedBaseline | undefined): Promise<ExpectedInput[] | undefined> {
    const explicit = this.o.models[model.name];
    if (explicit) return explicit.inputs;
    const fromBaseline = prepared ? [{ name: prepared.b.input.name, ...(prepared.b.input.datatype ? { datatype: prepared.b.input.datatype } : {}), shape: [-1, ...prepared.b.input.rowShape] }] : undefined;
    if (!this.o.metadata.fetch) return fromBaseline;
    try {
      return (await this.metadata(model)) ?? fromBaseline;
    } catch (e) {
      if (fromBaseline) return fromBaseline;
      throw e;
    }
  }

  private async metadata(model: ModelConfig): Promise<ExpectedInput[] | undefined> {
    let e = this.meta.get(model.name);
    if (!e) this.meta.set(model.name, (e = { at: 0 }));
    const age = Date.now() - e.at;
    const due = e.at === 0 || age >= (e.error ? this.o.metadata.retryAfter : this.o.metadata.refresh);
    if (due && !e.pending) {
      const entry = e;
      entry.pending = this.fetchMetadata(model)
        .then((inputs) => {
          entry.inputs = inputs;
          entry.error = undefined;
        })
        .catch((err: unknown) => {
          // Metadata fetched earlier keeps serving; only a model never fetched fails requests.
          entry.error = err instanceof Error ? err : new Error(String(err));
          this.log.warn({ err: { code: (err as { code?: string }).code, message: entry.error.message }, model: model.name }, 'tensor guard: model metadata fetch failed');
        })
        .finally(() => {
          entry.at = Date.now();
          entry.pending = undefined;
        });
    }
    if (!e.inputs && e.pending) await e.pending;
    if (e.inputs) return e.inputs;
    throw new TensorMetadataError(`no metadata for model ${model.name}: ${e.error?.message ?? 'not fetched'}`, { cause: e.error });
  }

  private async fetchMetadata(model: ModelConfig): Promise<ExpectedInput[]> {
    let up = this.upstreams.get(model.name);
    if (!up) {
      up = createUpstreams([model]).get(model.name)!;
      this.upstreams.set(model.name, up);
    }
    // Not tied to one request's signal: the fetch is shared by every request waiting for it, and
    // upstream.timeout bounds it.
    const res = await callUpstream(up, { method: 'GET', path: `/v2/models/${encodeURIComponent(up.upstreamModel)}`, headers: { accept: 'application/json' }, signal: new UpstreamAbort() }, this.log);
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new TensorMetadataError(`GET /v2/models/${model.name} answered ${res.statusCode}`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new TensorMetadataError(`the metadata of model ${model.name} is not JSON`);
    }
    const m = metadataSchema.safeParse(raw);
    if (!m.success) throw new TensorMetadataError(`the metadata of model ${model.name} has no valid "inputs"`);
    return m.data.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape }));
  }

  async close(): Promise<void> {
    await closeUpstreams(this.upstreams);
    this.upstreams.clear();
  }
}

/** The `tensor` guard kind (src/guards/registry.ts). */
export const tensorGuardFactory: GuardFactory<TensorOptions> = {
  kind: 'tensor',
  description: 'KServe v2 tensor inputs: shape, datatype, range and NaN checks, out-of-distribution score and feature squeezing against a per-model baseline',
  options: tensorOptionsSchema,
  create(name, options, env) {
    const baselines = options.baselines.map((p) => readBaseline(isAbsolute(p) ? p : resolve(env.baseDir, p)));
    const seen = new Set<string>();
    for (const b of baselines) {
      if (seen.has(b.model)) throw new TensorBaselineInvalidError(`two tensor baselines are for model ${b.model}`);
      seen.add(b.model);
    }
    return new TensorGuard(name, options, baselines, env.logger.child({ guard: name }));
  },
};
