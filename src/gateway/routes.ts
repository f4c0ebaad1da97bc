// The gateway's route table: a small explicit matcher from method + path to a route id, the
// protocol whose error shape applies, the Cedar action, and the model named in the URL.
// Kept as plain code (no framework router) because the set is fixed and it is on the hot path.
import { BadRequestError, MethodNotAllowedError, RouteNotFoundError } from './errors.js';
import type { Action } from '../core/types.js';

/** Error shape and model lookup differ per protocol; `infra` routes are the gateway's own. */
export type Protocol = 'openai' | 'kserve' | 'generic' | 'infra';

export type RouteId =
  | 'openai.chat.completions'
  | 'openai.completions'
  | 'openai.embeddings'
  | 'openai.responses'
  | 'openai.models.list'
  | 'openai.models.retrieve'
  | 'kserve.infer'
  | 'kserve.model.metadata'
  | 'kserve.model.ready'
  | 'kserve.health.live'
  | 'kserve.health.ready'
  | 'generic'
  | 'healthz'
  | 'readyz'
  | 'metrics'
  | 'admin.alerts'
  | 'datasets.records';

export interface RouteMatch {
  id: RouteId;
  protocol: Protocol;
  /** Cedar action checked for this route (undefined for unauthenticated infra routes). */
  action?: Action;
  /** Model named in the URL (v2, generic, /v1/models/{id}). */
  model?: string;
  /** KServe model version from the URL. */
  version?: string;
  /** For generic: the path after the model, raw (still percent-encoded), starting with '/'. */
  rest?: string;
}

const OPENAI_POST: Record<string, RouteId> = {
  '/v1/chat/completions': 'openai.chat.completions',
  '/v1/completions': 'openai.completions',
  '/v1/embeddings': 'openai.embeddings',
  '/v1/responses': 'openai.responses',
};

/** The protocol whose error shape is used for a path, even when no route matches it. */
export function protocolOfPath(path: string): Protocol {
  if (path.startsWith('/v1/') || path === '/v1') return 'openai';
  if (path.startsWith('/v2/') || path === '/v2') return 'kserve';
  if (path.startsWith('/generic/')) return 'generic';
  return 'infra';
}

function decodeSegment(s: string): string {
  let d: string;
  try {
    d = decodeURIComponent(s);
  } catch {
    throw new BadRequestError('malformed percent-encoding in the path');
  }
  if (d === '' || d === '.' || d === '..' || d.includes('\0')) throw new BadRequestError('invalid path segment');
  return d;
}

function expect(method: string, allowed: readonly string[], m: RouteMatch): RouteMatch {
  if (allowed.includes(method) || (method === 'HEAD' && allowed.includes('GET'))) return m;
  throw new MethodNotAllowedError(`${method} is not allowed on this route`, { details: { allow: allowed.join(', ') } });
}

/**
 * Matches a request. `path` is the URL path without the query string. Throws
 * RouteNotFoundError, MethodNotAllowedError (details.allow) or BadRequestError.
 */
export function matchRoute(method: string, path: string, metricsPath: string | null): RouteMatch {
  const openai = OPENAI_POST[path];
  if (openai) return expect(method, ['POST'], { id: openai, protocol: 'openai', action: 'invoke' });
  if (path === '/healthz') return expect(method, ['GET'], { id: 'healthz', protocol: 'infra' });
  if (path === '/readyz') return expect(method, ['GET'], { id: 'readyz', protocol: 'infra' });
  if (metricsPath !== null && path === metricsPath) return expect(method, ['GET'], { id: 'metrics', protocol: 'infra', action: 'admin' });
  if (path === '/v1/models') return expect(method, ['GET'], { id: 'openai.models.list', protocol: 'openai', action: 'list' });
  if (path.startsWith('/v1/models/')) {
    const id = decodeSegment(path.slice('/v1/models/'.length));
    return expect(method, ['GET'], { id: 'openai.models.retrieve', protocol: 'openai', action: 'list', model: id });
  }
  if (path === '/v2/health/live') return expect(method, ['GET'], { id: 'kserve.health.live', protocol: 'kserve' });
  if (path === '/v2/health/ready') return expect(method, ['GET'], { id: 'kserve.health.ready', protocol: 'kserve' });
  if (path.startsWith('/v2/models/')) return matchKserve(method, path.slice('/v2/models/'.length).split('/'));
  if (path.startsWith('/generic/')) {
    const after = path.slice('/generic/'.length);
    const slash = after.indexOf('/');
    const model = decodeSegment(slash < 0 ? after : after.slice(0, slash));
    const rest = slash < 0 ? '/' : after.slice(slash);
    for (const seg of rest.split('/').slice(1)) {
      // Refuse dot segments (also percent-encoded) so the upstream path cannot climb out of its base.
      if (seg === '..' || seg === '.' || /^(%2e|\.){1,2}$/i.test(seg) || /%2f|%5c|%00/i.test(seg)) throw new BadRequestError('invalid path segment');
    }
    return expect(method, ['GET', 'POST'], { id: 'generic', protocol: 'generic', action: 'invoke', model, rest });
  }
  throw new RouteNotFoundError(`no route for ${method} ${path.length > 200 ? `${path.slice(0, 200)}...` : path}`);
}

function matchKserve(method: string, segs: string[]): RouteMatch {
  const model = decodeSegment(segs[0] ?? '');
  let i = 1;
  let version: string | undefined;
  if (segs[i] === 'versions') {
    version = decodeSegment(segs[i + 1] ?? '');
    i += 2;
  }
  const tail = segs.slice(i);
  const base = { protocol: 'kserve' as const, model, version };
  if (tail.length === 0) return expect(method, ['GET'], { ...base, id: 'kserve.model.metadata', action: 'list' });
  if (tail.length === 1 && tail[0] === 'ready') return expect(method, ['GET'], { ...base, id: 'kserve.model.ready', action: 'list' });
  if (tail.length === 1 && tail[0] === 'infer') return expect(method, ['POST'], { ...base, id: 'kserve.infer', action: 'invoke' });
  throw new RouteNotFoundError('no such KServe v2 route');
}
