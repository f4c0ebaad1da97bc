// Turns a gateway authorization request into Cedar's inputs: the principal entity (with its
// roles and groups as parents), the model entity (attributes from config) and the context
// (time, source address, route, method, request attributes).
import { isIP } from 'node:net';
import type { CedarValueJson, Context, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthzContext } from '../core/contracts.js';
import type { Action, Principal } from '../core/types.js';
import { NAMESPACE, type PolicyDataset, type PolicyModel } from './schema.js';

export const GATEWAY_RESOURCE: EntityUidJson = { type: `${NAMESPACE}::Gateway`, id: 'gateway' };

export function actionUid(action: Action): EntityUidJson {
  return { type: `${NAMESPACE}::Action`, id: action };
}

export function modelUid(name: string): EntityUidJson {
  return { type: `${NAMESPACE}::Model`, id: name };
}

export function datasetUid(name: string): EntityUidJson {
  return { type: `${NAMESPACE}::Dataset`, id: name };
}

export function datasetEntity(d: PolicyDataset): EntityJson {
  return { uid: datasetUid(d.name), attrs: { ...d.attributes, name: d.name }, parents: [] };
}

export function principalUid(p: Pick<Principal, 'id' | 'kind'>): EntityUidJson {
  return { type: `${NAMESPACE}::${p.kind === 'service' ? 'Service' : 'User'}`, id: p.id };
}

export function modelEntity(m: PolicyModel): EntityJson {
  return { uid: modelUid(m.name), attrs: { ...m.attributes, name: m.name, protocol: m.protocol }, parents: [] };
}

export function principalEntity(p: Principal): EntityJson {
  const tags: Record<string, CedarValueJson> = {};
  for (const [k, v] of Object.entries(p.attributes)) tags[k] = String(v);
  return {
    uid: principalUid(p),
    attrs: { roles: p.roles, groups: p.groups, authMethod: p.authMethod },
    tags,
    parents: [
      ...p.roles.map((r) => ({ type: `${NAMESPACE}::Role`, id: r })),
      ...p.groups.map((g) => ({ type: `${NAMESPACE}::Group`, id: g })),
    ],
  };
}

/** An address Cedar's ip() accepts: IPv4-mapped IPv6 becomes IPv4, zone ids are dropped. */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (mapped) s = mapped[1]!;
  // An unparsable address (should not happen: it comes from the socket) must not make every
  // policy that reads it error out; the unspecified address matches no useful range.
  return isIP(s) ? s : '0.0.0.0';
}

export function timeContext(t: Date): Record<string, CedarValueJson> {
  const iso = t.toISOString();
  return {
    now: { __extn: { fn: 'datetime', arg: iso } },
    epoch: Math.floor(t.getTime() / 1000),
    iso,
    date: iso.slice(0, 10),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
    weekday: t.getUTCDay(),
  };
}

/** Request attributes Cedar can hold: strings, booleans and integers (Cedar has no floats). */
export function requestAttributes(attrs: Record<string, string | number | boolean>): Record<string, CedarValueJson> {
  const out: Record<string, CedarValueJson> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) continue;
    out[k] = v;
  }
  return out;
}

export function buildContext(c: AuthzContext): Context {
  return {
    time: timeContext(c.time),
    sourceIp: { __extn: { fn: 'ip', arg: normalizeIp(c.sourceIp) } },
    route: c.route,
    method: c.method,
    request: requestAttributes(c.attributes),
  };
}
