// User-defined alert rules (config `monitoring.rules`): a filter on event fields, then a count,
// sum or distinct count over a sliding window per group; an alert when the aggregate reaches the
// threshold, re-armed once it falls back below it.
import { eventField, type RampartEvent } from '../events/schema.js';
import type { RuleConfig } from './config.js';
import type { Detection, Detector } from './detectors/types.js';

type Filter = RuleConfig['filter'][string];

function matchOne(v: unknown, f: Filter): boolean {
  if (Array.isArray(f)) return f.some((x) => x === v);
  if (typeof f === 'object' && f !== null) {
    if (f.gte !== undefined && !(typeof v === 'number' && v >= f.gte)) return false;
    if (f.lte !== undefined && !(typeof v === 'number' && v <= f.lte)) return false;
    if (f.prefix !== undefined && !(typeof v === 'string' && v.startsWith(f.prefix))) return false;
    if (f.not !== undefined && v === f.not) return false;
    return true;
  }
  return v === f;
}

export function matchesFilter(e: RampartEvent, filter: RuleConfig['filter']): boolean {
  for (const [path, f] of Object.entries(filter)) if (!matchOne(eventField(e, path), f)) return false;
  return true;
}

interface Group {
  items: { time: number; value: number; key: string }[];
  armed: boolean;
  labels: Record<string, string>;
}

export class RuleDetector implements Detector {
  readonly id: string;
  private readonly groups = new Map<string, Group>();
  private lastSweep = 0;

  constructor(private readonly rule: RuleConfig) {
    this.id = `rule:${rule.id}`;
  }

  private aggregate(g: Group): number {
    if (this.rule.aggregate === 'count') return g.items.length;
    if (this.rule.aggregate === 'sum') return g.items.reduce((a, b) => a + b.value, 0);
    return new Set(g.items.map((i) => i.key)).size;
  }

  observe(e: RampartEvent): Detection[] {
    this.tick(e.time);
    if (!matchesFilter(e, this.rule.filter)) return [];
    const labels: Record<string, string> = {};
    for (const f of this.rule.groupBy) labels[f] = String(eventField(e, f) ?? '');
    const gk = JSON.stringify(labels);
    let g = this.groups.get(gk);
    if (!g) this.groups.set(gk, (g = { items: [], armed: true, labels }));
    const fv = this.rule.field ? eventField(e, this.rule.field) : undefined;
    g.items.push({ time: e.time, value: typeof fv === 'number' && Number.isFinite(fv) ? fv : 0, key: String(fv ?? '') });
    this.expire(g, e.time);
    const value = this.aggregate(g);
    if (g.armed && value >= this.rule.threshold) {
      g.armed = false;
      const vars: Record<string, string> = { ...labels, value: String(value), threshold: String(this.rule.threshold), window: `${this.rule.window / 1000}s`, rule: this.rule.id };
      return [
        {
          detector: this.id,
          dedupKey: `${this.id}:${gk}`,
          severity: this.rule.severity,
          title: this.rule.message.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, k: string) => vars[k] ?? ''),
          time: e.time,
          subject: labels,
          details: { rule: this.rule.id, aggregate: this.rule.aggregate, value, threshold: this.rule.threshold, windowMs: this.rule.window, group: labels },
        },
      ];
    }
    if (!g.armed && value < this.rule.threshold) g.armed = true;
    return [];
  }

  private expire(g: Group, now: number): void {
    let i = 0;
    while (i < g.items.length && g.items[i]!.time <= now - this.rule.window) i++;
    if (i) g.items.splice(0, i);
  }

  tick(now: number): Detection[] {
    if (now - this.lastSweep > this.rule.window) {
      this.lastSweep = now;
      for (const [k, g] of this.groups) {
        this.expire(g, now);
        if (g.items.length === 0) this.groups.delete(k);
      }
    }
    return [];
  }
}
