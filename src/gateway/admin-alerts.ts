// The admin API for security alerts (docs/monitoring.md): `GET /admin/alerts[?status=&limit=]`,
// `GET /admin/alerts/{id}`, `POST /admin/alerts/{id}/ack` and `POST /admin/alerts/{id}/resolve`.
// The handler authenticates the caller and checks the Cedar `admin` action before calling this;
// the acting principal is recorded as who acknowledged or resolved.
import { RampartError } from '../core/errors.js';
import { transitionAlert } from '../monitor/alerts.js';
import type { AlertRecord, AlertStatus, AlertStore } from '../store/types.js';

export const ADMIN_ALERTS_PREFIX = '/admin/alerts';

export interface AdminAlertsResult {
  status: number;
  body: unknown;
}

function view(a: AlertRecord): Record<string, unknown> {
  let details: unknown = a.details;
  try {
    details = JSON.parse(a.details);
  } catch {
    // keep the stored text
  }
  return { ...a, details };
}

function problem(status: number, code: string, message: string): AdminAlertsResult {
  return { status, body: { error: { message, type: 'rampart_error', code } } };
}

const STATUSES: readonly string[] = ['open', 'acknowledged', 'resolved'];

/** Serves one admin alerts request; `path` starts with ADMIN_ALERTS_PREFIX. Never throws for bad input. */
export async function handleAdminAlerts(store: AlertStore, method: string, path: string, query: string, actor: string): Promise<AdminAlertsResult> {
  const rest = path.slice(ADMIN_ALERTS_PREFIX.length).split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return '\u0000';
    }
  });
  if (rest.length === 0) {
    if (method !== 'GET') return problem(405, 'RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED', 'use GET');
    const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
    const status = q.get('status') ?? undefined;
    if (status !== undefined && !STATUSES.includes(status)) return problem(400, 'RAMPART_ERR_GATEWAY_BAD_REQUEST', 'status must be open, acknowledged or resolved');
    const limit = q.has('limit') ? Number(q.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return problem(400, 'RAMPART_ERR_GATEWAY_BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    const list = await store.listAlerts({ status: status as AlertStatus | undefined, limit });
    return { status: 200, body: { object: 'list', data: list.map(view) } };
  }
  const id = rest[0]!;
  if (rest.length === 1) {
    if (method !== 'GET') return problem(405, 'RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED', 'use GET');
    const a = await store.getAlert(id);
    return a ? { status: 200, body: view(a) } : problem(404, 'RAMPART_ERR_MONITOR_ALERT_NOT_FOUND', `no alert with id ${id}`);
  }
  if (rest.length === 2 && (rest[1] === 'ack' || rest[1] === 'resolve')) {
    if (method !== 'POST') return problem(405, 'RAMPART_ERR_GATEWAY_METHOD_NOT_ALLOWED', 'use POST');
    try {
      const a = await transitionAlert(store, id, rest[1] === 'ack' ? 'acknowledged' : 'resolved', actor);
      return { status: 200, body: view(a) };
    } catch (e) {
      if (e instanceof RampartError && e.code === 'RAMPART_ERR_MONITOR_ALERT_NOT_FOUND') return problem(404, e.code, e.message);
      if (e instanceof RampartError && e.code === 'RAMPART_ERR_MONITOR_ALERT_TRANSITION') return problem(409, e.code, e.message);
      throw e;
    }
  }
  return problem(404, 'RAMPART_ERR_GATEWAY_ROUTE_NOT_FOUND', 'no such admin route');
}
