// Alerts from the inference guards and the ingestion guard. A `guard.verdict` event at or above
// `immediateSeverity` (the extraction detector firing, a blocked injection in a tool result, a leaked
// private key) is an alert at once; lower-severity verdicts (flags, redactions) alert when one
// principal collects `threshold` of them from one guard within the window (verdicts of severity
// `info`, such as output hardening applied to every answer, never count) — a single redacted
// e-mail address is routine, fifty in ten minutes from one key is not. Shadow-mode verdicts count
// the same way (that is what shadow mode is for), and the alert says they were not enforced.
import { z } from 'zod';
import { SEVERITIES, severityRank, type Severity } from '../../core/types.js';
import { SlidingCounter } from '../../detect/sliding.js';
import type { RampartEvent } from '../../events/schema.js';
import type { Detection, Detector } from './types.js';

export const guardVerdictsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Verdicts at or above this severity alert at once. */
    immediateSeverity: z.enum(SEVERITIES).default('high'),
    /** Lower-severity verdicts per guard and principal in `windowMs` that make an alert. */
    threshold: z.number().int().positive().default(20),
    windowMs: z.number().int().positive().default(600_000),
  })
  .strict();
type Params = z.output<typeof guardVerdictsSchema>;

interface Verdict {
  guard: string;
  action: string;
  shadow: boolean;
  codes: string[];
}

function verdictOf(e: RampartEvent): Verdict | null {
  const d = e.data;
  if (typeof d.guard !== 'string' || typeof d.action !== 'string') return null;
  const reasons = Array.isArray(d.reasons) ? d.reasons : [];
  const codes = reasons.map((r) => (typeof r === 'object' && r !== null && typeof (r as { code?: unknown }).code === 'string' ? (r as { code: string }).code : '')).filter(Boolean);
  return { guard: d.guard, action: d.action, shadow: d.shadow === true, codes: [...new Set(codes)].slice(0, 8) };
}

export class GuardVerdictDetector implements Detector {
  readonly id = 'guard-verdicts';
  private readonly counters = new Map<string, { counter: SlidingCounter; armed: boolean }>();
  private lastSweep = 0;
  constructor(private readonly p: Params) {}

  observe(e: RampartEvent): Detection[] {
    if (e.type !== 'guard.verdict') return [];
    const v = verdictOf(e);
    if (!v || v.action === 'allow') return [];
    const who = e.principal ?? e.sourceIp ?? '-';
    const severity: Severity = e.severity ?? 'low';
    // Routine rewrites (output hardening on every answer) are recorded at info and never alert.
    if (severity === 'info') return [];
    const subject: Record<string, string> = { guard: v.guard, ...(e.principal ? { principal: e.principal } : e.sourceIp ? { sourceIp: e.sourceIp } : {}) };
    if (e.model) subject.model = e.model;
    const mode = v.shadow ? ' (shadow mode: not enforced)' : '';
    if (severityRank(severity) >= severityRank(this.p.immediateSeverity)) {
      return [
        {
          detector: this.id,
          dedupKey: `${this.id}:${v.guard}:${who}:${v.codes[0] ?? v.action}`,
          severity,
          title: `Guard ${v.guard} ${v.action === 'error' ? 'failed on' : `${v.action}ed`} a request of ${who}${v.codes.length ? `: ${v.codes.join(', ')}` : ''}${mode}`,
          time: e.time,
          subject,
          details: { action: v.action, shadow: v.shadow, reasons: v.codes, requestId: e.data.requestId ?? null },
        },
      ];
    }
    this.sweep(e.time);
    const k = `${v.guard}\u0000${who}`;
    let s = this.counters.get(k);
    if (!s) this.counters.set(k, (s = { counter: new SlidingCounter(this.p.windowMs), armed: true }));
    const n = s.counter.add(e.time);
    if (!s.armed) {
      if (n < this.p.threshold / 2) s.armed = true;
      return [];
    }
    if (n < this.p.threshold) return [];
    s.armed = false;
    return [
      {
        detector: this.id,
        dedupKey: `${this.id}:${v.guard}:${who}:many`,
        severity: 'medium',
        title: `Guard ${v.guard}: ${n} verdicts for ${who} in ${Math.round(this.p.windowMs / 60_000)} min${v.codes.length ? ` (latest: ${v.codes.join(', ')})` : ''}${mode}`,
        time: e.time,
        subject,
        details: { count: n, windowMs: this.p.windowMs, lastAction: v.action, lastReasons: v.codes, shadow: v.shadow },
      },
    ];
  }

  /** Forgets keys whose window emptied long ago (bounded memory under many principals). */
  private sweep(t: number): void {
    if (t - this.lastSweep < this.p.windowMs) return;
    this.lastSweep = t;
    for (const [k, s] of this.counters) if (s.counter.total(t) === 0) this.counters.delete(k);
  }

  tick(): Detection[] {
    return [];
  }
}
