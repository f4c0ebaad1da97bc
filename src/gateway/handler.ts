// The request pipeline of the gateway, in the order of DESIGN.md: request id → route → authenticate
// → read body → model → authorize (Cedar) → quota → proxy upstream → usage accounting → audit
// record + metrics + access log when the response ends (also when the client went away).
import type { GatewayRequest, GatewayResponse } from './http1/types.js';
import type { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { GatewayConfig, ModelConfig } from '../config/schema.js';
import type { AuditLog, AuditRecord, Authenticator, AuthnInput, Authorizer, AuthzContext, QuotaLease, QuotaManager } from '../core/contracts.js';
import { RampartError, isRampartError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Action, Principal, TokenUsage } from '../core/types.js';
import { BadJsonError, BadRequestError, BodyTooLargeError, ClientClosedError, MethodNotAllowedError, ModelNotFoundError, RouteNotFoundError, ShuttingDownError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { WHOLE_MAX, forwardComplete, forwardResponse, forwardWhole } from './proxy.js';
import { clientResponseHeaders, completeBody, readBody, requestIdOf, sourceIpOf, upstreamRequestHeaders } from './request.js';
import { sendError, sendJson, toHttpError } from './respond.js';
import { matchRoute, protocolOfPath, type Protocol, type RouteMatch } from './routes.js';
import { ADMIN_ALERTS_PREFIX, handleAdminAlerts } from './admin-alerts.js';
import { DATASETS_PREFIX, datasetOfPath, type DatasetIngest } from './datasets.js';
import type { AlertStore } from '../store/types.js';
import { datasetQuotaName } from '../quota/manager.js';
import { UpstreamAbort, callUpstream, upstreamError, type Upstream } from './upstream.js';
import type { GuardPipeline, GuardRun, GuardSelection } from '../guards/pipeline.js';
import { auditGuards } from '../guards/report.js';
import { forwardGuardedJson, forwardGuardedStream, modelCaller, runRequestGuards, setGuardHeaders, type GuardedCall } from './guarded.js';

/** The layers the pipeline calls; see src/core/contracts.ts. */
export interface PipelineDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  quotas: QuotaManager;
  audit: AuditLog;
  /** Alert store for the admin alerts API (set when monitoring is on). */
  alerts?: AlertStore;
  /** The dataset ingestion route (datasets.ts); set when the config declares `datasets:`. */
  datasets?: DatasetIngest;
  /** The inference guards (src/guards/pipeline.ts); absent or null when none is configured. */
  guards?: GuardPipeline | null;
}

/**
 * State of one request, filled in as it moves through the pipeline. A class, so that every request's
 * state has the same shape (V8 keeps property access on it monomorphic); the per-request child
 * logger is made on first use only.
 */
class Ctx {
  route: RouteMatch | null = null;
  /** Whether the request gets an audit record (model and admin routes; not health probes). */
  audited = true;
  principal: Principal | null = null;
  model: string | null = null;
  action: Action | null = null;
  decision: 'allow' | 'deny' | 'error' = 'error';
  policyIds: string[] = [];
  errorCode: string | null = null;
  status = 0;
  upstreamMs: number | null = null;
  bytesIn = 0;
  bytesOut = 0;
  usage: TokenUsage | null = null;
  lease: QuotaLease | null = null;
  abort: UpstreamAbort | null = null;
  requestBody: string | undefined = undefined;
  responseBody: string | undefined = undefined;
  finished = false;
  /** What the guards did (null until a guard applies to the request). */
  guardRuns: GuardRun[] | null = null;
  private childLog: Logger | null = null;

  constructor(
    readonly id: string,
    readonly t0: number,
    readonly time: string,
    readonly req: GatewayRequest,
    readonly res: GatewayResponse,
    private readonly parentLog: Logger,
    readonly path: string,
    readonly query: string,
    public protocol: Protocol,
    readonly sourceIp: string,
  ) {}

  get log(): Logger {
    return (this.childLog ??= this.parentLog.child({ reqId: this.id }));
  }
}

/** Guard state handed to proxy() when guards apply to the request. */
interface ProxyGuards {
  call: GuardedCall;
  /** The request body as sent upstream, parsed (for ResponseInput.requestBody). */
  requestBody: () => Record<string, unknown>;
}

/** OpenAI routes whose request accepts `stream_options.include_usage`. */
const STREAM_OPTIONS_ROUTES = new Set(['openai.chat.completions', 'openai.completions']);
const LLM_ROUTES = new Set(['openai.chat.completions', 'openai.completions', 'openai.responses', 'openai.embeddings']);
const MAX_ATTR_STRING = 256;

export class RequestHandler {
  private readonly byProtocol: Record<'openai' | 'kserve' | 'generic', Map<string, ModelConfig>>;
  private readonly metricsPath: string | null;
  private readonly guards: GuardPipeline | null;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  draining = false;
  ready = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: PipelineDeps,
    private readonly upstreams: Map<string, Upstream>,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly trustedProxies: BlockList | null,
    private readonly proto: 'http' | 'https',
  ) {
    this.byProtocol = { openai: new Map(), kserve: new Map(), generic: new Map() };
    for (const m of config.models) {
      const p = m.protocol === 'kserve-v2' ? 'kserve' : m.protocol;
      this.byProtocol[p].set(m.name, m);
    }
    this.metricsPath = config.observability.metrics.enabled ? config.observability.metrics.path : null;
    this.guards = deps.guards ?? null;
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  readonly handle = (req: GatewayRequest, res: GatewayResponse): void => {
    const t0 = performance.now();
    const id = requestIdOf(req, this.config.server.trustRequestId);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // The per-request child logger is made only when something is logged (most requests log nothing
    // at the default level, and pino's child() costs a few µs per request).
    const ctx = new Ctx(id, t0, isoNow(), req, res, this.logger, path, q < 0 ? '' : url.slice(q), protocolOfPath(path), sourceIpOf(req, this.trustedProxies));
    this.inflight++;
    this.metrics.inflight.inc();
    if (this.draining) res.setHeader('connection', 'close');
    res.on('close', () => this.finish(ctx)); // emitted once; finish() is idempotent too
    this.run(ctx).catch((err: unknown) => this.fail(ctx, err));
  };

  private async run(ctx: Ctx): Promise<void> {
    const { req, res } = ctx;
    if (this.deps.alerts && (ctx.path === ADMIN_ALERTS_PREFIX || ctx.path.startsWith(`${ADMIN_ALERTS_PREFIX}/`))) return this.adminAlerts(ctx, this.deps.alerts);
    if (this.deps.datasets && ctx.path.startsWith(DATASETS_PREFIX)) return this.datasetRecords(ctx, this.deps.datasets);
    const route = matchRoute(req.method ?? 'GET', ctx.path, this.metricsPath);
    ctx.route = route;
    ctx.protocol = route.protocol;
    ctx.action = route.action ?? null;
    switch (route.id) {
      case 'healthz':
      case 'kserve.health.live':
        ctx.audited = false;
        ctx.decision = 'allow';
        return sendJson(res, 200, route.id === 'healthz' ? { status: 'ok' } : { live: true }, ctx.id);
      case 'readyz':
      case 'kserve.health.ready': {
        ctx.audited = false;
        ctx.decision = 'allow';
        const ok = this.ready && !this.draining;
        return sendJson(res, ok ? 200 : 503, route.id === 'readyz' ? { status: ok ? 'ready' : 'not ready' } : { ready: ok }, ctx.id);
      }
      case 'metrics':
        return this.metricsRoute(ctx);
      default:
        break;
    }
    if (this.draining) throw new ShuttingDownError();
    const len = Number(req.headers['content-length'] ?? 0);
    if (len > this.config.server.bodyLimit) throw new BodyTooLargeError(`request body exceeds ${this.config.server.bodyLimit} bytes`);

    // Decided without a promise where that needs no I/O (a cached API key, a body already in hand).
    const input = this.authnInput(ctx);
    ctx.principal = this.deps.authenticator.authenticateSync?.(input) ?? (await this.deps.authenticator.authenticate(input));

    if (route.id === 'openai.models.list') return this.listModels(ctx);
    if (route.id === 'openai.models.retrieve') return this.retrieveModel(ctx, route.model!);

    const limit = this.config.server.bodyLimit;
    const body = req.method === 'POST' ? (completeBody(req, limit) ?? (await readBody(req, limit))) : undefined;
    ctx.bytesIn = body?.length ?? 0;
    if (body && this.config.audit.includeBodies) ctx.requestBody = body.toString('utf8');

    // `return await`: resolving with a promise would cost two more microtask turns than awaiting it.
    if (route.protocol === 'openai') return await this.openaiInvoke(ctx, route, body!);
    if (route.protocol === 'kserve') return await this.kserve(ctx, route, body);
    return await this.generic(ctx, route, body);
  }

  private authenticate(ctx: Ctx): Promise<Principal> {
    return this.deps.authenticator.authenticate(this.authnInput(ctx));
  }

  private authnInput(ctx: Ctx): AuthnInput {
    const { req } = ctx;
    const sock = req.socket;
    const apiKey = req.headers['x-api-key'];
    return {
      authorization: req.headers.authorization,
      apiKey: typeof apiKey === 'string' ? apiKey : undefined,
      // Only a certificate that chained to server.tls.clientCa identifies anyone.
      peerCertificate: sock.authorized && typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : null,
      sourceIp: ctx.sourceIp,
    };
  }

  private authzContext(ctx: Ctx, attributes: Record<string, string | number | boolean>): AuthzContext {
    return { time: new Date(), sourceIp: ctx.sourceIp, route: ctx.route!.id, method: ctx.req.method ?? 'GET', attributes };
  }

  /** Runs Cedar for `action` on `model`; records the decision and throws RAMPART_ERR_POLICY_DENIED. */
  private authorize(ctx: Ctx, action: Action, model: string, attributes: Record<string, string | number | boolean>): void {
    const d = this.deps.authorizer.authorize({ principal: ctx.principal!, action, model, context: this.authzContext(ctx, attributes) });
    ctx.policyIds = d.policyIds;
    if (d.errors.length) ctx.log.warn({ policyErrors: d.errors, model, action }, 'policy evaluation errors');
    if (d.decision !== 'allow') {
      ctx.decision = 'deny';
      throw new RampartError('RAMPART_ERR_POLICY_DENIED', `${ctx.principal!.id} may not ${action} model ${model}`);
    }
    ctx.decision = 'allow';
  }

  /** Whether the caller may see a model in listings: `list` or `invoke` permitted. */
  private maySee(ctx: Ctx, model: string): boolean {
    for (const action of ['list', 'invoke'] as const) {
      const d = this.deps.authorizer.authorize({ principal: ctx.principal!, action, model, context: this.authzContext(ctx, {}) });
      if (d.decision === 'allow') return true;
    }
    return false;
  }

  private lookup(protocol: 'openai' | 'kserve' | 'generic', name: string, ctx: Ctx): ModelConfig {
    ctx.model = name.length > MAX_ATTR_STRING ? name.slice(0, MAX_ATTR_STRING) : name;
    const m = this.byProtocol[protocol].get(name);
    if (!m) throw new ModelNotFoundError(`model ${ctx.model} does not exist or is not served on this route`);
    return m;
  }

  private openaiModel(m: ModelConfig): Record<string, unknown> {
    const owner = m.attributes.owner;
    return { id: m.name, object: 'model', created: 0, owned_by: typeof owner === 'string' ? owner : 'rampart' };
  }

  private listModels(ctx: Ctx): void {
    const data = [...this.byProtocol.openai.values()].filter((m) => this.maySee(ctx, m.name)).map((m) => this.openaiModel(m));
    ctx.decision = 'allow';
    sendJson(ctx.res, 200, { object: 'list', data }, ctx.id);
  }

  private retrieveModel(ctx: Ctx, name: string): void {
    const m = this.lookup('openai', name, ctx);
    // Same answer for a model that exists but is hidden from the caller, as in the listing.
    if (!this.maySee(ctx, m.name)) {
      ctx.decision = 'deny';
      throw new ModelNotFoundError(`model ${ctx.model} does not exist or is not served on this route`);
    }
    ctx.decision = 'allow';
    sendJson(ctx.res, 200, this.openaiModel(m), ctx.id);
  }

  /** The admin alerts API (admin-alerts.ts): authenticated, Cedar `admin` on the gateway. */
  private async adminAlerts(ctx: Ctx, alerts: AlertStore): Promise<void> {
    ctx.route = { id: 'admin.alerts', protocol: 'infra', action: 'admin' };
    ctx.protocol = 'infra';
    ctx.action = 'admin';
    if (this.draining) throw new ShuttingDownError();
    ctx.principal = await this.authenticate(ctx);
    this.authorize(ctx, 'admin', ADMIN_RESOURCE, {});
    const r = await handleAdminAlerts(alerts, ctx.req.method ?? 'GET', ctx.path, ctx.query, ctx.principal.id);
    return sendJson(ctx.res, r.status, r.body, ctx.id);
  }

  /** `POST /v1/datasets/{name}/records` (datasets.ts): authenticated, Cedar `ingest` on Rampart::Dataset. */
  private async datasetRecords(ctx: Ctx, datasets: DatasetIngest): Promise<void> {
    ctx.route = { id: 'datasets.records', protocol: 'openai', action: 'ingest' };
    ctx.action = 'ingest';
    const name = datasetOfPath(ctx.path);
    if (name === null) throw new RouteNotFoundError(`no route for ${ctx.req.method ?? 'GET'} ${ctx.path.length > 200 ? `${ctx.path.slice(0, 200)}...` : ctx.path}`);
    if (ctx.req.method !== 'POST') throw new MethodNotAllowedError(`${ctx.req.method ?? 'GET'} is not allowed on this route`, { details: { allow: 'POST' } });
    if (this.draining) throw new ShuttingDownError();
    if (Number(ctx.req.headers['content-length'] ?? 0) > this.config.server.bodyLimit) throw new BodyTooLargeError(`request body exceeds ${this.config.server.bodyLimit} bytes`);
    ctx.principal = await this.authenticate(ctx);
    ctx.model = name.length > MAX_ATTR_STRING ? name.slice(0, MAX_ATTR_STRING) : name;
    datasets.lookup(name);
    const body = await readBody(ctx.req, this.config.server.bodyLimit);
    ctx.bytesIn = body.length;
    if (this.config.audit.includeBodies) ctx.requestBody = body.toString('utf8');
    // A caller the policy refuses gets 403 whatever its body holds; the batch size is known to policies.
    let records: Record<string, unknown>[] | null = null;
    let bad: unknown = null;
    try {
      records = datasets.parse(name, body, ctx.req.headers['content-type']);
    } catch (e) {
      bad = e;
    }
    this.authorize(ctx, 'ingest', name, { records: records ? records.length : 0 });
    if (records === null) throw bad;
    // Ingestion fills the store: the caller's request and concurrency limits apply as on model
    // routes, and the dataset's own `quotas` over all callers (429 with Retry-After).
    ctx.lease = await this.deps.quotas.acquire({ principal: ctx.principal.id, model: datasetQuotaName(name), countsTokens: false });
    const result = await datasets.ingest(name, records, { principal: ctx.principal.id, requestId: ctx.id, sourceIp: ctx.sourceIp });
    return sendJson(ctx.res, 200, result, ctx.id);
  }

  private async metricsRoute(ctx: Ctx): Promise<void> {
    if (this.config.observability.metrics.requireAuth) {
      ctx.principal = await this.authenticate(ctx);
      this.authorize(ctx, 'admin', ADMIN_RESOURCE, {});
    } else {
      ctx.audited = false;
      ctx.decision = 'allow';
    }
    const text = await this.metrics.registry.metrics();
    ctx.res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'x-request-id': ctx.id });
    ctx.res.end(text);
  }

  private async openaiInvoke(ctx: Ctx, route: RouteMatch, raw: Buffer): Promise<void> {
    const body = parseJsonObject(raw);
    if (typeof body.model !== 'string' || body.model === '') throw new BadRequestError('the request names no model (field "model")');
    const m = this.lookup('openai', body.model, ctx);
    const attrs: Record<string, string | number | boolean> = { stream: body.stream === true };
    for (const k of ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n'] as const) {
      if (typeof body[k] === 'number' && Number.isFinite(body[k])) attrs[k] = body[k];
    }
    this.authorize(ctx, 'invoke', m.name, attrs);
    const countsTokens = LLM_ROUTES.has(route.id);
    const qr = { principal: ctx.principal!.id, model: m.name, countsTokens };
    ctx.lease = this.deps.quotas.tryAcquireSync?.(qr) ?? (await this.deps.quotas.acquire(qr));

    const up = this.upstreams.get(m.name)!;
    let rewrite = false;
    // Guards see the client's body, before the gateway's own rewrites below.
    const sel = this.guards === null ? null : this.guards.select(route.id, 'openai', m.name);
    let guards: ProxyGuards | undefined;
    if (sel !== null) {
      const call = this.guardCall(ctx, sel, m);
      guards = { call, requestBody: () => body };
      if (sel.request.length > 0 && (await runRequestGuards(call, body, modelCaller(up, ctx.path + ctx.query, () => this.upHeaders(ctx), call.gone, ctx.log, true)))) {
        rewrite = true;
        if (this.config.audit.includeBodies) ctx.requestBody = JSON.stringify(body);
      }
    }
    if (up.upstreamModel !== m.name) {
      body.model = up.upstreamModel;
      rewrite = true;
    }
    // Streamed responses carry no usage unless asked for: ask, and hide the extra usage-only chunk
    // from a client that did not ask for it itself, so token quotas work on streams too.
    let stripUsageChunk = false;
    if (body.stream === true && STREAM_OPTIONS_ROUTES.has(route.id)) {
      const so = body.stream_options;
      if (so === undefined || so === null) {
        body.stream_options = { include_usage: true };
        stripUsageChunk = rewrite = true;
      } else if (typeof so === 'object' && !Array.isArray(so) && (so as Record<string, unknown>).include_usage === undefined) {
        body.stream_options = { ...(so as Record<string, unknown>), include_usage: true };
        stripUsageChunk = rewrite = true;
      }
    }
    const out = rewrite ? Buffer.from(JSON.stringify(body)) : raw;
    await this.proxy(ctx, up, 'POST', ctx.path + ctx.query, out, { usage: countsTokens, stripUsageChunk, guards });
  }

  private async kserve(ctx: Ctx, route: RouteMatch, raw: Buffer | undefined): Promise<void> {
    const m = this.lookup('kserve', route.model!, ctx);
    const attrs: Record<string, string | number | boolean> = {};
    if (route.version !== undefined) attrs.version = route.version.slice(0, MAX_ATTR_STRING);
    let parsed: Record<string, unknown> | undefined;
    const binary = ctx.req.headers['inference-header-content-length'] !== undefined;
    if (route.id === 'kserve.infer') {
      // The binary tensor extension sends JSON followed by raw bytes; only pure JSON is checked.
      if (!binary) parsed = parseJsonObject(raw!);
      this.authorize(ctx, 'invoke', m.name, attrs);
    } else if (!this.maySee(ctx, m.name)) {
      ctx.decision = 'deny';
      throw new RampartError('RAMPART_ERR_POLICY_DENIED', `${ctx.principal!.id} may not list model ${m.name}`);
    } else {
      ctx.decision = 'allow';
    }
    ctx.lease = await this.deps.quotas.acquire({ principal: ctx.principal!.id, model: m.name, countsTokens: false });
    const up = this.upstreams.get(m.name)!;
    const tail = route.id === 'kserve.infer' ? '/infer' : route.id === 'kserve.model.ready' ? '/ready' : '';
    const versionPart = route.version !== undefined ? `/versions/${encodeURIComponent(route.version)}` : '';
    const path = `/v2/models/${encodeURIComponent(up.upstreamModel)}${versionPart}${tail}${ctx.query}`;
    const sel = this.guards === null ? null : this.guards.select(route.id, 'kserve', m.name);
    let guards: ProxyGuards | undefined;
    if (sel !== null) {
      const call = this.guardCall(ctx, sel, m);
      const body = parsed ?? {};
      guards = { call, requestBody: () => body };
      if (sel.request.length > 0) {
        if (binary) this.guards!.unscannable('request', sel.request, call.base, call.runs, 'binary tensor data cannot be checked');
        else if (await runRequestGuards(call, body, modelCaller(up, route.id === 'kserve.infer' ? path : null, () => this.upHeaders(ctx), call.gone, ctx.log, false))) {
          raw = Buffer.from(JSON.stringify(body));
          if (this.config.audit.includeBodies) ctx.requestBody = raw.toString('utf8');
        }
      }
    }
    await this.proxy(ctx, up, ctx.req.method === 'POST' ? 'POST' : 'GET', path, raw, { usage: false, stripUsageChunk: false, guards });
  }

  private async generic(ctx: Ctx, route: RouteMatch, raw: Buffer | undefined): Promise<void> {
    const m = this.lookup('generic', route.model!, ctx);
    const parsed = raw && raw.length > 0 ? parseJson(raw) : undefined;
    this.authorize(ctx, 'invoke', m.name, { path: route.rest!.slice(0, MAX_ATTR_STRING) });
    ctx.lease = await this.deps.quotas.acquire({ principal: ctx.principal!.id, model: m.name, countsTokens: false });
    const up = this.upstreams.get(m.name)!;
    const sel = this.guards === null ? null : this.guards.select(route.id, 'generic', m.name);
    let guards: ProxyGuards | undefined;
    if (sel !== null) {
      const call = this.guardCall(ctx, sel, m);
      const isObj = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
      const body = isObj ? (parsed as Record<string, unknown>) : {};
      guards = { call, requestBody: () => body };
      if (sel.request.length > 0) {
        if (parsed !== undefined && !isObj) this.guards!.unscannable('request', sel.request, call.base, call.runs, 'the request body is not a JSON object');
        else {
          const post = ctx.req.method === 'POST' ? route.rest! + ctx.query : null;
          if (await runRequestGuards(call, body, modelCaller(up, post, () => this.upHeaders(ctx), call.gone, ctx.log, false))) {
            raw = Buffer.from(JSON.stringify(body));
            if (this.config.audit.includeBodies) ctx.requestBody = raw.toString('utf8');
          }
        }
      }
    }
    await this.proxy(ctx, up, ctx.req.method === 'POST' ? 'POST' : 'GET', route.rest! + ctx.query, raw, { usage: false, stripUsageChunk: false, guards });
  }

  private async proxy(
    ctx: Ctx,
    up: Upstream,
    method: string,
    path: string,
    body: Buffer | undefined,
    opts: { usage: boolean; stripUsageChunk: boolean; guards?: ProxyGuards },
  ): Promise<void> {
    const abort = (ctx.abort ??= new UpstreamAbort());
    const headers = upstreamRequestHeaders(ctx.req.headers, ctx.id, ctx.sourceIp, this.proto);
    if (body && !headers['content-type']) headers['content-type'] = 'application/json';
    const tUp = performance.now();
    let resp: Awaited<ReturnType<typeof callUpstream>>;
    try {
      resp = await callUpstream(up, { method, path, headers, body: method === 'POST' ? body : undefined, signal: abort }, () => ctx.log);
    } catch (e) {
      ctx.upstreamMs = performance.now() - tUp;
      // Aborted because the client went away: finish() records that, nothing failed.
      throw abort.aborted ? new ClientClosedError() : e;
    }
    const ct = String(resp.headers['content-type'] ?? '');
    const sse = ct.includes('text/event-stream');
    ctx.status = resp.statusCode;
    const g = opts.guards;
    if (g !== undefined && resp.statusCode >= 200 && resp.statusCode < 300) {
      const sel = g.call.sel;
      // A guard that cannot read this kind of answer (a stream, for a guard without a stream filter;
      // a whole body, for one with only a stream filter) must not be skipped: its onError decides.
      const blind = sse ? sel.response.filter((s) => !sel.stream.includes(s)) : sel.stream.filter((s) => !sel.response.includes(s));
      if (blind.length > 0) {
        try {
          this.guards!.unscannable('response', blind, g.call.base, g.call.runs, sse ? 'the response is a stream and the guard scans no streams' : 'the response is not a stream and the guard scans only streams');
        } catch (e) {
          resp.discard();
          throw e;
        }
      }
      if (sse ? sel.stream.length > 0 : sel.response.length > 0) return this.proxyGuarded(ctx, up, resp, sse, ct.includes('json'), g, opts, tUp, abort);
    }
    if (ctx.guardRuns !== null) setGuardHeaders(ctx.res, ctx.guardRuns);
    ctx.res.writeHead(resp.statusCode, clientResponseHeaders(resp.headers, ctx.id, sse));
    if (sse) ctx.res.flushHeaders();
    try {
      const fwd = { sse, json: ct.includes('json'), usage: opts.usage, stripUsageChunk: opts.stripUsageChunk && sse, captureBody: this.config.audit.includeBodies };
      const len = sse ? NaN : Number(resp.headers['content-length']);
      // A body that arrived whole with the head (resp.complete) is sent without ever making a stream;
      // streams always go chunk by chunk (their events may be filtered).
      const whole = sse ? null : resp.wholeBody(Number.POSITIVE_INFINITY);
      const result =
        whole !== null
          ? forwardComplete(whole, ctx.res, fwd)
          : !sse && len >= 0 && len <= WHOLE_MAX
            ? await forwardWhole(resp, ctx.res, fwd)
            : await forwardResponse(resp.body, ctx.res, fwd);
      ctx.bytesOut = result.bytes;
      ctx.usage = result.usage;
      if (result.body !== undefined) ctx.responseBody = result.body;
      ctx.upstreamMs = performance.now() - tUp;
      if (ctx.usage) {
        this.metrics.tokensFor(up.model, 'prompt').inc(ctx.usage.promptTokens);
        this.metrics.tokensFor(up.model, 'completion').inc(ctx.usage.completionTokens);
      }
      if (!ctx.res.writableEnded) ctx.res.end();
    } catch (e) {
      ctx.upstreamMs = performance.now() - tUp;
      if (e instanceof ClientClosedError || abort.aborted) return; // finish() records it
      throw upstreamError(e, up.model);
    }
  }

  /** A response that response or stream guards must see before the client does (src/gateway/guarded.ts). */
  private async proxyGuarded(
    ctx: Ctx,
    up: Upstream,
    resp: Awaited<ReturnType<typeof callUpstream>>,
    sse: boolean,
    json: boolean,
    g: ProxyGuards,
    opts: { usage: boolean; stripUsageChunk: boolean },
    tUp: number,
    abort: UpstreamAbort,
  ): Promise<void> {
    try {
      let result;
      if (sse) {
        const ac = new AbortController();
        if (abort.aborted) ac.abort();
        else abort.once('abort', () => ac.abort());
        result = await forwardGuardedStream(g.call, resp, ctx.res, { usage: opts.usage, stripUsageChunk: opts.stripUsageChunk, signal: ac.signal });
      } else {
        result = await forwardGuardedJson(g.call, resp, ctx.res, { json, usage: opts.usage, captureBody: this.config.audit.includeBodies, requestBody: g.requestBody });
      }
      ctx.bytesOut = result.bytes;
      ctx.usage = result.usage;
      if (result.body !== undefined) ctx.responseBody = result.body;
      ctx.upstreamMs = performance.now() - tUp;
      if (result.stoppedCode !== undefined) {
        ctx.errorCode = result.stoppedCode;
        if (result.stoppedCode !== 'RAMPART_ERR_GUARD_FAILED') ctx.decision = 'deny';
      }
      if (ctx.usage) {
        this.metrics.tokensFor(up.model, 'prompt').inc(ctx.usage.promptTokens);
        this.metrics.tokensFor(up.model, 'completion').inc(ctx.usage.completionTokens);
      }
      if (!ctx.res.writableEnded) ctx.res.end();
    } catch (e) {
      ctx.upstreamMs = performance.now() - tUp;
      if (e instanceof ClientClosedError || abort.aborted) return; // finish() records it
      if (isRampartError(e) && e.code.startsWith('RAMPART_ERR_GUARD_')) throw e;
      throw upstreamError(e, up.model);
    }
  }

  /** Guard state of one request: the facts every check is told, the runs recorded, the client-gone signal. */
  private guardCall(ctx: Ctx, sel: GuardSelection, m: ModelConfig): GuardedCall {
    ctx.guardRuns ??= [];
    const gone = (ctx.abort ??= new UpstreamAbort());
    const base = {
      requestId: ctx.id,
      route: ctx.route!.id,
      protocol: ctx.route!.protocol as 'openai' | 'kserve' | 'generic',
      model: m,
      principal: ctx.principal!,
      sourceIp: ctx.sourceIp,
      now: Math.round(performance.timeOrigin + ctx.t0),
    };
    return { pipeline: this.guards!, sel, base, runs: ctx.guardRuns, gone, log: ctx.log };
  }

  private upHeaders(ctx: Ctx): Record<string, string> {
    const h = upstreamRequestHeaders(ctx.req.headers, ctx.id, ctx.sourceIp, this.proto);
    delete h['inference-header-content-length'];
    return h;
  }

  /** Turns a thrown error into the protocol's error response and the audit fields. */
  private fail(ctx: Ctx, err: unknown): void {
    if (err instanceof ClientClosedError) return;
    const e = toHttpError(err);
    ctx.errorCode = e.code;
    if (e.status >= 500 && e.status !== 502 && e.status !== 503 && e.status !== 504) {
      ctx.log.error({ err }, 'request failed');
    } else if (e.status >= 500) {
      ctx.log.warn({ err: { code: e.code, cause: errCause(err) } }, 'upstream failure');
    }
    // Refused access (credentials, policy or quota) is a deny even after the policy allowed.
    if (e.status === 401 || e.status === 403 || e.status === 429) ctx.decision = 'deny';
    if (ctx.res.headersSent) {
      ctx.status = ctx.status || e.status;
      ctx.res.destroy();
      return;
    }
    ctx.status = e.status;
    if (ctx.guardRuns !== null) setGuardHeaders(ctx.res, ctx.guardRuns);
    // A body we did not read (refused before reading it) would otherwise be drained: close instead.
    const unread = !ctx.req.complete;
    if (unread) ctx.req.pause();
    sendError(ctx.res, ctx.protocol, e, ctx.id, unread || this.draining);
  }

  /** Runs once per request when the response is done or the connection closed. */
  private finish(ctx: Ctx): void {
    if (ctx.finished) return;
    ctx.finished = true;
    const clientClosed = !ctx.res.writableFinished;
    if (clientClosed) ctx.abort?.abort();
    if (clientClosed && ctx.errorCode === null) {
      ctx.errorCode = 'RAMPART_ERR_GATEWAY_CLIENT_CLOSED';
      // 499 (client closed request, as nginx logs it): the status line may have gone out already.
      ctx.status = 499;
    } else if (ctx.res.headersSent) {
      // What the client actually got (also for a stream cut by an upstream failure: its code says so).
      ctx.status = ctx.res.statusCode;
    }
    try {
      ctx.lease?.release(ctx.usage);
    } catch (e) {
      ctx.log.error({ err: e }, 'quota release failed');
    }
    const latencyMs = performance.now() - ctx.t0;
    const routeId = ctx.route?.id ?? 'unknown';
    const modelLabel = ctx.model !== null && this.upstreams.has(ctx.model) ? ctx.model : '';
    this.metrics.requestsFor(routeId, modelLabel, ctx.decision, ctx.status).inc();
    this.metrics.durationFor(routeId, modelLabel).observe(latencyMs / 1000);
    if (ctx.upstreamMs !== null && modelLabel) this.metrics.upstreamDurationFor(modelLabel).observe(ctx.upstreamMs / 1000);
    this.metrics.inflight.dec();
    if (ctx.audited) {
      // These keys in this order are the shape the audit thread takes as a tuple of values
      // (src/audit/record-tuple.ts, TUPLE_KEYS); another order is still correct, only slower.
      const rec: AuditRecord = {
        id: ctx.id,
        time: ctx.time,
        principal: ctx.principal?.id ?? null,
        authMethod: ctx.principal?.authMethod ?? null,
        model: ctx.model,
        action: ctx.action,
        route: routeId,
        method: ctx.req.method ?? 'GET',
        path: ctx.path.length > 1024 ? ctx.path.slice(0, 1024) : ctx.path,
        sourceIp: ctx.sourceIp,
        decision: ctx.decision,
        policyIds: ctx.policyIds,
        errorCode: ctx.errorCode,
        status: ctx.status,
        latencyMs: round3(latencyMs),
        upstreamMs: ctx.upstreamMs === null ? null : round3(ctx.upstreamMs),
        bytesIn: ctx.bytesIn,
        bytesOut: ctx.bytesOut,
        usage: ctx.usage,
      };
      if (ctx.requestBody !== undefined) rec.requestBody = ctx.requestBody;
      if (ctx.responseBody !== undefined) rec.responseBody = ctx.responseBody;
      if (ctx.guardRuns !== null && ctx.guardRuns.length > 0) rec.guards = auditGuards(ctx.guardRuns);
      try {
        this.deps.audit.record(rec);
      } catch (e) {
        ctx.log.error({ err: e }, 'audit record failed');
      }
    }
    // The parent's level: asking the per-request child would create it for every request.
    if (this.logger.isLevelEnabled('info')) {
      ctx.log.info(
        {
          method: ctx.req.method,
          path: ctx.path,
          route: routeId,
          model: ctx.model,
          principal: ctx.principal?.id,
          decision: ctx.decision,
          status: ctx.status,
          code: ctx.errorCode ?? undefined,
          ms: round3(latencyMs),
        },
        'request',
      );
    }
    if (--this.inflight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** Model name meaning "the gateway itself" (Cedar resource Rampart::Gateway::"gateway") for admin actions such as reading a protected /metrics. */
export const ADMIN_RESOURCE = '';

let isoAt = Number.NaN;
let isoText = '';
/** The current time in ISO 8601, formatted at most once per millisecond (several requests arrive in one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function errCause(err: unknown): string | undefined {
  const c = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  return c ? String(c.code ?? c.message ?? '') : undefined;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadJsonError('the request body is not valid JSON');
  }
}

function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new BadJsonError('the request body is empty; a JSON object is expected');
  const v = parseJson(raw);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadJsonError('the request body must be a JSON object');
  return v as Record<string, unknown>;
}
