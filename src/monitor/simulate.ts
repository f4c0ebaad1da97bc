// A traffic simulator for evaluating the detectors (bench/monitor-eval.mjs and tests): benign
// traffic for many principals with daily and weekly rhythms and normal bursts, plus injected
// incidents of every kind, as time-ordered events. Seeded, so every run is the same.
import { mulberry32, normal, poisson } from '../detect/random.js';
import { makeEvent, type RampartEvent } from '../events/schema.js';
import type { Detection } from './detectors/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const INCIDENT_TYPES = [
  'request-volume',
  'new-key-volume',
  'auth-failure-burst',
  'authz-deny-burst',
  'new-network',
  'off-hours',
  'enumeration',
  'exfiltration',
  'upstream-errors',
  'upstream-latency',
  'output-drift',
  'input-drift',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

/** Which detector is expected to catch each incident type. */
export const EXPECTED_DETECTOR: Record<IncidentType, string> = {
  'request-volume': 'request-volume',
  'new-key-volume': 'request-volume',
  'auth-failure-burst': 'auth-failure-burst',
  'authz-deny-burst': 'authz-deny-burst',
  'new-network': 'new-network',
  'off-hours': 'off-hours',
  enumeration: 'enumeration',
  exfiltration: 'exfiltration',
  'upstream-errors': 'upstream-health',
  'upstream-latency': 'upstream-health',
  'output-drift': 'output-drift',
  'input-drift': 'input-drift',
};

export interface Incident {
  type: IncidentType;
  start: number;
  end: number;
  /** The subject a detection must name to count (principal, sourceIp, model or source). */
  subject: Record<string, string>;
}

export interface SimulationOptions {
  seed?: number;
  days?: number;
  principals?: number;
  /** Start time (ms), Monday 2026-11-02 00:00 UTC by default. */
  start?: number;
  /** Incidents of each type to inject (spread over the days after the learning period). */
  incidentsPerType?: number;
  /** Day from which incidents start (detectors learn before). Default 3. */
  incidentsFromDay?: number;
  /** Interval of `model.prediction` and `data.record` events (ms). Default 1500. */
  predictionIntervalMs?: number;
}

export interface Simulation {
  events: RampartEvent[];
  incidents: Incident[];
  start: number;
  end: number;
}

interface Profile {
  id: string;
  service: boolean;
  peak: number;
  startHour: number;
  endHour: number;
  prefixes: string[];
  models: string[];
  bytes: number;
}

const MODELS = ['chat-small', 'chat-large', 'embed', 'classifier', 'summarize', 'vision', 'rerank', 'translate'];
const ROUTES = ['openai.chat.completions', 'openai.embeddings', 'kserve.infer', 'openai.completions', 'openai.responses', 'generic'];

/** Plays the simulation; events are sorted by time. */
export function simulate(o: SimulationOptions = {}): Simulation {
  const r = mulberry32(o.seed ?? 42);
  const days = o.days ?? 7;
  const start = o.start ?? Date.UTC(2026, 10, 2);
  const end = start + days * DAY;
  const W = 5 * MIN;
  const events: RampartEvent[] = [];
  let seq = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const at = (t0: number, span: number) => t0 + Math.floor(r() * span);

  const profiles: Profile[] = Array.from({ length: o.principals ?? 40 }, (_, i) => {
    const service = i % 4 === 0;
    const nModels = 1 + Math.floor(r() * 3);
    // Every model has users: the first model of principal i is MODELS[i mod 8].
    const models = [MODELS[i % MODELS.length]!, ...Array.from({ length: nModels - 1 }, () => pick(MODELS))];
    return {
      id: `${service ? 'svc' : 'user'}-${i}`,
      service,
      peak: Math.exp(Math.log(2) + r() * Math.log(15)),
      startHour: 7 + Math.floor(r() * 3),
      endHour: 16 + Math.floor(r() * 3),
      prefixes: [`10.${i}.${Math.floor(r() * 200)}`, ...(r() < 0.3 ? [`172.16.${i}`] : [])],
      models: [...new Set(models)],
      bytes: 800 + r() * 4000,
    };
  });

  const request = (p: Profile, t: number, over: Partial<{ ip: string; model: string; route: string; bytes: number; status: number; latency: number }> = {}): void => {
    const model = over.model ?? pick(p.models);
    const status = over.status ?? (r() < 0.003 ? 502 : 200);
    events.push(
      makeEvent({
        type: 'gateway.request',
        source: 'sim',
        id: `s${seq++}`,
        time: t,
        principal: p.id,
        model,
        sourceIp: over.ip ?? `${pick(p.prefixes)}.${1 + Math.floor(r() * 250)}`,
        data: {
          route: over.route ?? (model === 'embed' ? 'openai.embeddings' : model === 'classifier' ? 'kserve.infer' : 'openai.chat.completions'),
          decision: status >= 500 ? 'error' : 'allow',
          status,
          latencyMs: (over.latency ?? 80) + 5,
          upstreamMs: over.latency ?? Math.max(5, 80 * Math.exp(0.3 * normal(r))),
          bytesIn: 300,
          bytesOut: over.bytes ?? Math.round(p.bytes * Math.exp(0.5 * normal(r))),
        },
      }),
    );
  };

  // Benign traffic, window by window.
  for (const p of profiles) {
    let burstUntil = 0;
    for (let t = start; t < end; t += W) {
      const d = new Date(t);
      const h = d.getUTCHours() + d.getUTCMinutes() / 60;
      const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
      let rate: number;
      if (p.service) rate = p.peak * (0.6 + 0.4 * Math.sin((2 * Math.PI * h) / 24) ** 2);
      else {
        const on = h >= p.startHour && h < p.endHour;
        rate = on ? p.peak * (h >= 12 && h < 13 ? 0.5 : 1) : 0;
        if (weekend) rate *= 0.15;
      }
      // Normal bursts: now and then a principal doubles its rate for 15-30 minutes (batch jobs).
      if (rate > 0 && t >= burstUntil && r() < 0.004) burstUntil = t + (15 + Math.floor(r() * 15)) * MIN;
      if (t < burstUntil) rate *= 2;
      const n = poisson(r, rate);
      for (let i = 0; i < n; i++) request(p, at(t, W));
      // Occasional typo'd key or denied request.
      if (rate > 0 && r() < 0.01) {
        const ip = `${pick(p.prefixes)}.9`;
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) events.push(makeEvent({ type: 'auth.failure', source: 'sim', id: `s${seq++}`, time: at(t, W), sourceIp: ip, data: {} }));
      }
      if (rate > 0 && r() < 0.005) events.push(makeEvent({ type: 'authz.deny', source: 'sim', id: `s${seq++}`, time: at(t, W), principal: p.id, sourceIp: `${p.prefixes[0]}.7`, data: {} }));
    }
  }
  // Predictions and ingestion records (drift monitoring): steady reference distributions.
  const classes = ['cat', 'dog', 'bird', 'fish'];
  const classP = [0.4, 0.3, 0.2, 0.1];
  const drawClass = (ps: number[]) => {
    let u = r();
    for (let i = 0; i < ps.length; i++) if ((u -= ps[i]!) < 0) return classes[i]!;
    return classes[classes.length - 1]!;
  };
  const incidents: Incident[] = [];
  const perType = o.incidentsPerType ?? 3;
  const fromDay = o.incidentsFromDay ?? 3;
  // Incident start times: spread over the weekdays after the learning period, inside working hours.
  const weekdays: number[] = [];
  for (let d = fromDay; d < days; d++) if (![0, 6].includes(new Date(start + d * DAY).getUTCDay())) weekdays.push(d);
  if (weekdays.length === 0) weekdays.push(Math.min(days - 1, fromDay));
  const when = (k: number) => start + weekdays[k % weekdays.length]! * DAY + (9 + r() * 7) * HOUR;
  const drift = { out: [] as [number, number][], inp: [] as [number, number][] };
  const degraded: { model: string; from: number; to: number; errors: boolean }[] = [];
  const officeUsers = profiles.filter((p) => !p.service && p.peak >= 3);
  const anyUsers = profiles.filter((p) => p.peak >= 3);
  let k = 0;
  for (const type of INCIDENT_TYPES) {
    for (let j = 0; j < perType; j++, k++) {
      let t0 = when(k);
      const p = pick(type === 'off-hours' ? officeUsers : anyUsers);
      switch (type) {
        case 'request-volume': {
          const dur = 30 * MIN;
          const n = Math.round(Math.max(p.peak * 10, 120) * (dur / W));
          for (let i = 0; i < n; i++) request(p, at(t0, dur));
          incidents.push({ type, start: t0, end: t0 + dur, subject: { principal: p.id } });
          break;
        }
        case 'new-key-volume': {
          const np: Profile = { ...p, id: `new-${k}`, prefixes: ['198.51.100'] };
          const dur = 20 * MIN;
          for (let i = 0; i < 800 * (dur / W); i++) request(np, at(t0, dur));
          incidents.push({ type, start: t0, end: t0 + dur, subject: { principal: np.id } });
          break;
        }
        case 'auth-failure-burst': {
          const ip = `203.0.113.${k % 250}`;
          for (let i = 0; i < 150; i++) events.push(makeEvent({ type: 'auth.failure', source: 'sim', id: `s${seq++}`, time: at(t0, 5 * MIN), sourceIp: ip, data: {} }));
          incidents.push({ type, start: t0, end: t0 + 5 * MIN, subject: { sourceIp: ip } });
          break;
        }
        case 'authz-deny-burst': {
          const ip = `${p.prefixes[0]}.8`;
          for (let i = 0; i < 40; i++) events.push(makeEvent({ type: 'authz.deny', source: 'sim', id: `s${seq++}`, time: at(t0, 3 * MIN), principal: p.id, sourceIp: ip, data: {} }));
          incidents.push({ type, start: t0, end: t0 + 3 * MIN, subject: { principal: p.id, sourceIp: ip } });
          break;
        }
        case 'new-network': {
          const ip = `45.${33 + k}.${j}.10`;
          for (let i = 0; i < 20; i++) request(p, at(t0, 10 * MIN), { ip });
          incidents.push({ type, start: t0, end: t0 + 10 * MIN, subject: { principal: p.id } });
          break;
        }
        case 'off-hours': {
          t0 = Math.floor(t0 / DAY) * DAY + (2 + r() * 2) * HOUR;
          for (let i = 0; i < 40; i++) request(p, at(t0, 30 * MIN));
          incidents.push({ type, start: t0, end: t0 + 30 * MIN, subject: { principal: p.id } });
          break;
        }
        case 'enumeration': {
          let i = 0;
          for (const m of MODELS) for (const rt of ROUTES) request(p, t0 + (i++ * 10 * MIN) / (MODELS.length * ROUTES.length), { model: m, route: rt });
          incidents.push({ type, start: t0, end: t0 + 10 * MIN, subject: { principal: p.id } });
          break;
        }
        case 'exfiltration': {
          const dur = 30 * MIN;
          const n = Math.max(12, Math.round(p.peak * (dur / W)));
          for (let i = 0; i < n; i++) request(p, at(t0, dur), { bytes: 400_000 });
          incidents.push({ type, start: t0, end: t0 + dur, subject: { principal: p.id } });
          break;
        }
        case 'upstream-errors':
        case 'upstream-latency': {
          // The upstream itself degrades: every request to the model in the span is affected
          // (applied below, once all traffic exists).
          const model = MODELS[k % MODELS.length]!;
          const dur = 15 * MIN;
          degraded.push({ model, from: t0, to: t0 + dur, errors: type === 'upstream-errors' });
          incidents.push({ type, start: t0, end: t0 + dur, subject: { model } });
          break;
        }
        case 'output-drift':
          drift.out.push([t0, t0 + 2 * HOUR]);
          incidents.push({ type, start: t0, end: t0 + 2 * HOUR, subject: { model: 'classifier' } });
          break;
        case 'input-drift':
          drift.inp.push([t0, t0 + 2 * HOUR]);
          incidents.push({ type, start: t0, end: t0 + 2 * HOUR, subject: { source: 'ingest' } });
          break;
      }
    }
  }
  for (const e of events) {
    if (e.type !== 'gateway.request') continue;
    const g = degraded.find((x) => x.model === e.model && e.time >= x.from && e.time < x.to);
    if (!g) continue;
    if (g.errors && r() < 0.6) Object.assign(e.data, { status: 503, decision: 'error' });
    else if (!g.errors) e.data.upstreamMs = 900 + 200 * r();
  }
  const inside = (t: number, spans: [number, number][]) => spans.some(([a, b]) => t >= a && t < b);
  // One prediction and one ingested record per interval.
  const step = Math.max(100, o.predictionIntervalMs ?? 1_500);
  for (let t = start; t < end; t += step) {
    const od = inside(t, drift.out);
    const c = drawClass(od ? [0.1, 0.2, 0.3, 0.4] : classP);
    const conf = Math.min(1, Math.max(0, (od ? 0.55 : 0.85) + 0.08 * normal(r)));
    events.push(makeEvent({ type: 'model.prediction', source: 'sim', id: `s${seq++}`, time: t, model: 'classifier', data: { class: c, confidence: conf } }));
    const id = inside(t, drift.inp);
    events.push(
      makeEvent({ type: 'data.record', source: 'ingest', id: `s${seq++}`, time: t + Math.floor(step / 2), data: { features: { amount: Math.exp(3 + 0.5 * normal(r)) * (id ? 1.8 : 1), age: 40 + 12 * normal(r) } } }),
    );
  }
  events.sort((a, b) => a.time - b.time);
  return { events, incidents, start, end };
}

export interface EvaluationResult {
  perType: Record<string, { incidents: number; detected: number; recall: number; meanDelayMs: number; maxDelayMs: number }>;
  falseAlerts: number;
  falseAlertsPerDay: number;
  detections: number;
  days: number;
}

function matches(d: Detection, inc: Incident, slackMs: number): boolean {
  if (d.time < inc.start || d.time > inc.end + slackMs) return false;
  return Object.entries(inc.subject).some(([k, v]) => d.subject[k] === v);
}

/**
 * Scores detections against the injected incidents: an incident is detected when its expected
 * detector reports its subject between its start and its end plus `slackMs` (one evaluation
 * window). A detection matching no incident at all is a false alert; repeats with the same dedup
 * key within an hour count once (they fold into one alert).
 */
export function evaluate(sim: Simulation, detections: Detection[], slackMs: number): EvaluationResult {
  const perType: EvaluationResult['perType'] = {};
  for (const type of INCIDENT_TYPES) {
    const incs = sim.incidents.filter((i) => i.type === type);
    const delays: number[] = [];
    for (const inc of incs) {
      const hit = detections.filter((d) => d.detector === EXPECTED_DETECTOR[type] && matches(d, inc, slackMs)).sort((a, b) => a.time - b.time)[0];
      if (hit) delays.push(hit.time - inc.start);
    }
    perType[type] = {
      incidents: incs.length,
      detected: delays.length,
      recall: incs.length ? delays.length / incs.length : 1,
      meanDelayMs: delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : 0,
      maxDelayMs: delays.length ? Math.max(...delays) : 0,
    };
  }
  const seen = new Set<string>();
  let falseAlerts = 0;
  for (const d of detections) {
    if (sim.incidents.some((inc) => matches(d, inc, slackMs))) continue;
    const key = `${d.dedupKey}@${Math.floor(d.time / HOUR)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    falseAlerts++;
  }
  const days = (sim.end - sim.start) / DAY;
  return { perType, falseAlerts, falseAlertsPerDay: falseAlerts / days, detections: detections.length, days };
}

/** Runs detectors over the simulation's events (fast-forwarded) and returns their detections. */
export function runDetectors(sim: Simulation, detectors: { observe(e: RampartEvent): Detection[]; tick(now: number): Detection[] }[]): Detection[] {
  const out: Detection[] = [];
  for (const e of sim.events) for (const d of detectors) out.push(...d.observe(e));
  for (const d of detectors) out.push(...d.tick(sim.end + 3_600_000));
  return out;
}
