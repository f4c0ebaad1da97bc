// Guard verdicts become alerts: a high-severity verdict at once, routine ones only in numbers.
import { describe, expect, it } from 'vitest';
import { makeEvent, type RampartEvent } from '../../events/schema.js';
import type { Severity } from '../../core/types.js';
import { GuardVerdictDetector, guardVerdictsSchema } from './guards.js';

function verdict(t: number, principal: string, guard: string, action: string, severity: Severity, code: string, shadow = false): RampartEvent {
  return makeEvent({
    type: 'guard.verdict',
    source: 'gateway',
    time: t,
    principal,
    model: 'digits',
    severity,
    data: { requestId: `r${t}`, route: 'kserve.infer', guard, kind: guard, phase: 'request', action, shadow, score: 0.9, reasons: [{ code, message: 'x' }], ms: 0.1 },
  });
}

describe('guard-verdicts detector', () => {
  it('alerts at once on a high-severity verdict, naming guard, principal and reason', () => {
    const d = new GuardVerdictDetector(guardVerdictsSchema.parse({}));
    const out = d.observe(verdict(1000, 'mallory', 'extraction', 'block', 'high', 'extraction.prada'));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ detector: 'guard-verdicts', severity: 'high', subject: { guard: 'extraction', principal: 'mallory', model: 'digits' } });
    expect(out[0]!.title).toContain('extraction.prada');
    // Shadow verdicts alert too, and say so.
    const sh = d.observe(verdict(2000, 'eve', 'prompt-injection', 'block', 'high', 'injection.override', true));
    expect(sh[0]!.title).toContain('shadow');
    // allow never alerts; other event types are ignored.
    expect(d.observe(verdict(3000, 'bob', 'pii', 'allow', 'high', 'pii.card'))).toEqual([]);
    // Routine info-level rewrites never count, however many.
    const quiet = new GuardVerdictDetector(guardVerdictsSchema.parse({ threshold: 2 }));
    for (let i = 0; i < 50; i++) expect(quiet.observe(verdict(i, 'bob', 'output-hardening', 'redact', 'info', 'output-hardening.round'))).toEqual([]);
    expect(d.observe(makeEvent({ type: 'gateway.request', source: 'gateway', time: 4000, data: {} }))).toEqual([]);
  });

  it('routine verdicts alert only past the threshold per guard and principal, once until they calm down', () => {
    const d = new GuardVerdictDetector(guardVerdictsSchema.parse({ threshold: 5, windowMs: 60_000 }));
    const fired: number[] = [];
    for (let i = 0; i < 4; i++) expect(d.observe(verdict(i * 1000, 'alice', 'pii', 'redact', 'medium', 'pii.email'))).toEqual([]);
    // Another principal's verdicts do not add to alice's count.
    for (let i = 0; i < 4; i++) expect(d.observe(verdict(i * 1000 + 500, 'bob', 'pii', 'redact', 'medium', 'pii.email'))).toEqual([]);
    for (let i = 4; i < 12; i++) if (d.observe(verdict(i * 1000, 'alice', 'pii', 'redact', 'medium', 'pii.email')).length) fired.push(i);
    expect(fired).toEqual([4]);
    // After a quiet spell the key re-arms and alerts again.
    for (let i = 0; i < 5; i++) if (d.observe(verdict(300_000 + i * 1000, 'alice', 'pii', 'redact', 'medium', 'pii.email')).length) fired.push(100 + i);
    expect(fired).toEqual([4, 104]);
  });
});
