// The Cedar authorizer used on every request. Policies and schema are parsed and validated once
// (load time); the policy set is pre-parsed into the Cedar wasm module, so a decision costs one
// evaluation. Decisions are cached under a key made of the principal, action, model and only the
// context parts the policies read (see context-paths.ts), so repeated calls cost a map lookup.
import { preparsePolicySet, statefulIsAuthorized, type Context, type EntityJson, type EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthzContext, AuthzDecision, AuthzRequest, Authorizer } from '../core/contracts.js';
import type { Principal } from '../core/types.js';
import { contextPathsUsed, valueAt, type ContextUse } from './context-paths.js';
import { PolicyInvalidError } from './errors.js';
import type { CompiledPolicy } from './load-policies.js';
import type { PolicyDataset, PolicyModel } from './schema.js';
import { actionUid, buildContext, datasetEntity, datasetUid, GATEWAY_RESOURCE, modelEntity, modelUid, principalEntity, principalUid } from './request.js';

export interface PolicyEngine extends Authorizer {
  /** Models the principal may see in a listing: those it may `list` or `invoke`. */
  listAllowed(principal: Principal, context: AuthzContext): string[];
  /** Ids of the loaded policies, in load order. */
  readonly policyIds: readonly string[];
}

const CACHE_MAX = 10_000;
let instances = 0;

export class CedarPolicyEngine implements PolicyEngine {
  readonly policyIds: readonly string[];
  private readonly psetId: string;
  private readonly models = new Map<string, { uid: EntityUidJson; entity: EntityJson }>();
  /** Datasets: the resource of the `ingest` action. */
  private readonly datasets = new Map<string, { uid: EntityUidJson; entity: EntityJson }>();
  private readonly contextUse: ContextUse;
  private readonly cache = new Map<string, AuthzDecision>();
  /**
   * Decisions by principal object, action and model, for frozen principals (the authenticator
   * shares one per API key) when the policies read no context: no key string per request.
   */
  private readonly byPrincipal = new WeakMap<Principal, Map<string, Map<string, AuthzDecision>>>();

  constructor(policies: readonly CompiledPolicy[], models: readonly PolicyModel[], datasets: readonly PolicyDataset[] = []) {
    this.psetId = `rampart-policies-${++instances}`;
    const staticPolicies: Record<string, string> = {};
    for (const p of policies) staticPolicies[p.id] = p.text;
    const res = preparsePolicySet(this.psetId, { staticPolicies });
    if (res.type === 'failure') {
      throw new PolicyInvalidError(`cannot load the policy set: ${res.errors.map((e) => e.message).join('; ')}`);
    }
    this.policyIds = policies.map((p) => p.id);
    for (const m of models) this.models.set(m.name, { uid: modelUid(m.name), entity: modelEntity(m) });
    for (const d of datasets) this.datasets.set(d.name, { uid: datasetUid(d.name), entity: datasetEntity(d) });
    this.contextUse = contextPathsUsed(policies.map((p) => p.json));
  }

  private cacheKey(req: AuthzRequest, context: Context | null): string | null {
    if (this.contextUse === 'all') return null;
    const p = req.principal;
    let key = `${req.action}\u0000${req.model}\u0000${p.kind}\u0000${p.id}\u0000${p.roles.join('\u0001')}\u0000${p.groups.join('\u0001')}\u0000${p.authMethod}\u0000${JSON.stringify(p.attributes)}`;
    for (const path of this.contextUse) key += `\u0000${JSON.stringify(valueAt(context, path)) ?? ''}`;
    return key;
  }

  authorize(req: AuthzRequest): AuthzDecision {
    // `ingest` acts on a dataset, every other action on a model (or the gateway for `admin` on '').
    const model = req.action === 'ingest' ? this.datasets.get(req.model) : this.models.get(req.model);
    if (!model && !(req.action === 'admin' && req.model === '')) {
      return { decision: 'deny', policyIds: [], errors: [`unknown ${req.action === 'ingest' ? 'dataset' : 'model'} "${req.model}"`] };
    }
    // Policies that read no context (the common case) need none built for a cache hit; a frozen
    // principal (immutable, so the object stands for its values) is looked up without a key string.
    let byModel: Map<string, AuthzDecision> | undefined;
    if (this.contextUse !== 'all' && this.contextUse.size === 0 && Object.isFrozen(req.principal)) {
      let byAction = this.byPrincipal.get(req.principal);
      if (byAction === undefined) {
        byAction = new Map();
        this.byPrincipal.set(req.principal, byAction);
      }
      byModel = byAction.get(req.action);
      if (byModel === undefined) {
        byModel = new Map();
        byAction.set(req.action, byModel);
      }
      const hit = byModel.get(req.model);
      if (hit !== undefined) return hit;
    }
    let context = this.contextUse === 'all' || this.contextUse.size > 0 ? buildContext(req.context) : null;
    const key = this.cacheKey(req, context);
    if (key !== null) {
      const hit = this.cache.get(key);
      if (hit) return hit;
    }
    context ??= buildContext(req.context);
    const entities: EntityJson[] = [principalEntity(req.principal)];
    let resource: EntityUidJson = GATEWAY_RESOURCE;
    if (model) {
      resource = model.uid;
      entities.push(model.entity);
    }
    const answer = statefulIsAuthorized({
      principal: principalUid(req.principal),
      action: actionUid(req.action),
      resource,
      context,
      entities,
      preparsedPolicySetId: this.psetId,
      validateRequest: false,
    });
    let decision: AuthzDecision;
    if (answer.type === 'failure') {
      decision = { decision: 'deny', policyIds: [], errors: answer.errors.map((e) => e.message) };
    } else {
      const d = answer.response;
      decision = {
        decision: d.decision,
        policyIds: d.diagnostics.reason,
        errors: d.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`),
      };
    }
    Object.freeze(decision.policyIds);
    Object.freeze(decision.errors);
    Object.freeze(decision);
    if (key !== null) {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, decision);
    }
    byModel?.set(req.model, decision);
    return decision;
  }

  listAllowed(principal: Principal, context: AuthzContext): string[] {
    const out: string[] = [];
    for (const name of this.models.keys()) {
      for (const action of ['list', 'invoke'] as const) {
        if (this.authorize({ principal, action, model: name, context }).decision === 'allow') {
          out.push(name);
          break;
        }
      }
    }
    return out;
  }
}
