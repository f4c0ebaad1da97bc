// Turns what the symbolic pickle machine recorded into findings.
import type { Severity } from '../../../core/types.js';
import { severityRank } from '../../../core/types.js';
import type { AnalyzeContext, FindingInput } from '../../types.js';
import { describe, type PickleRun, type Value } from './machine.js';

const MAX_CALL_FINDINGS = 200;

export interface ReportOptions {
  loader?: 'torch' | 'joblib' | 'numpy';
  /** Report only events at offsets inside these ranges (second-interpretation passes). */
  within?: [number, number][];
  /** Do not report the break (probing runs that start at a guessed offset). */
  ignoreBreak?: boolean;
  /** Prefix for messages, e.g. "embedded pickle at 1234: ". */
  prefix?: string;
}

function globalOf(v: Value): (Value & { t: 'global' }) | undefined {
  return v.t === 'global' ? v : undefined;
}

/** Reports the findings of one run; returns the highest severity reported (info if none). */
export function reportRun(run: PickleRun, ctx: AnalyzeContext, o: ReportOptions = {}): Severity {
  let worst: Severity = 'info';
  const prefix = o.prefix ?? '';
  const inRange = (off: number) => !o.within || o.within.some(([a, b]) => off >= a && off < b);
  const emit = (f: FindingInput, sev: Severity) => {
    if (f.location?.offset !== undefined && !inRange(f.location.offset)) return;
    ctx.report({ ...f, severity: sev, message: prefix + f.message });
    if (severityRank(sev) > severityRank(worst)) worst = sev;
  };

  // Imports: one finding per distinct global, at its first import.
  const seen = new Map<string, { first: number; count: number; offsets: number[] }>();
  for (const im of run.imports) {
    if (!inRange(im.off)) continue;
    const key = `${im.module}\u0000${im.name}`;
    const s = seen.get(key);
    if (s) {
      s.count++;
      if (s.offsets.length < 10) s.offsets.push(im.off);
      continue;
    }
    seen.set(key, { first: im.off, count: 1, offsets: [im.off] });
  }
  for (const im of run.imports) {
    const key = `${im.module}\u0000${im.name}`;
    const s = seen.get(key);
    if (!s || s.first !== im.off) continue;
    const g = `${im.module}.${im.name}`;
    const v = im.verdict;
    const details = { global: g, resolved: v.resolved, opcode: im.op, occurrences: s.count, offsets: s.offsets, reason: v.reason };
    const reaches = v.resolved !== g ? ` (reaches ${v.resolved})` : '';
    if (v.klass === 'dangerous') {
      emit({ ruleId: 'RMP-PICKLE-001', message: `imports dangerous global ${g}${reaches}: ${v.reason}`, location: { offset: im.off }, details }, 'critical');
    } else if (v.klass === 'unknown') {
      if (v.attributeWalk) emit({ ruleId: 'RMP-PICKLE-014', message: `imports ${g} through an attribute walk`, location: { offset: im.off }, details }, 'high');
      else emit({ ruleId: 'RMP-PICKLE-002', message: `imports ${g}, which is not on the allow-list`, location: { offset: im.off }, details }, 'medium');
    } else {
      emit({ ruleId: 'RMP-PICKLE-010', message: `imports allow-listed ${g}`, location: { offset: im.off }, details }, 'info');
    }
  }

  // Calls.
  let callFindings = 0;
  let suppressedCalls = 0;
  const callFinding = (off: number, kind: string, callee: Value, args: Value) => {
    if (!inRange(off)) return;
    if (callFindings >= MAX_CALL_FINDINGS) {
      suppressedCalls++;
      return;
    }
    const g = globalOf(callee);
    const shown = `${describe(callee)}${args.t === 'tuple' ? describe(args) : `(${describe(args)})`}`;
    const details = { opcode: kind, callee: describe(callee), call: shown.slice(0, 500) };
    if (!g) {
      callFindings++;
      emit({ ruleId: 'RMP-PICKLE-005', message: `${kind} calls a value computed at load time: ${shown.slice(0, 300)}`, location: { offset: off }, details }, 'high');
      return;
    }
    const k = g.verdict.klass;
    if (k === 'dangerous') {
      callFindings++;
      emit({ ruleId: 'RMP-PICKLE-003', message: `${kind} calls ${shown.slice(0, 300)}`, location: { offset: off }, details: { ...details, global: g.name } }, 'critical');
    } else if (k === 'unknown' || (k === 'constructible' && kind !== 'NEWOBJ' && kind !== 'NEWOBJ_EX' && kind !== 'new')) {
      callFindings++;
      const instantiate = kind === 'NEWOBJ' || kind === 'NEWOBJ_EX' || kind === 'new';
      emit(
        { ruleId: 'RMP-PICKLE-004', message: `${kind} ${instantiate ? 'instantiates' : 'calls'} ${shown.slice(0, 300)}`, location: { offset: off }, details: { ...details, global: g.name } },
        instantiate ? 'medium' : 'high',
      );
    }
  };
  for (const c of run.calls) {
    callFinding(c.off, c.kind, c.callee, c.args);
    const g = globalOf(c.callee);
    if (!g || g.verdict.klass !== 'allowed') continue;
    const items = c.args.t === 'tuple' ? c.args.items : [];
    // Allowed helpers that call one of their arguments: check what they call.
    if ((g.name === 'copyreg._reconstructor' || g.name === 'copy_reg._reconstructor') && items[1]) {
      const base = items[1];
      if (!(base.t === 'global' && base.verdict.klass === 'allowed')) callFinding(c.off, 'REDUCE', base, { t: 'tuple', items: [] });
      if (items[0]) callFinding(c.off, 'new', items[0], { t: 'tuple', items: [] });
    } else if ((g.name === 'copyreg.__newobj__' || g.name === 'copyreg.__newobj_ex__') && items[0]) {
      callFinding(c.off, 'new', items[0], { t: 'tuple', items: items.slice(1) });
    } else if (g.name.startsWith('torch._tensor._rebuild_from_type') && items[0]) {
      callFinding(c.off, 'REDUCE', items[0], items[2] ?? { t: 'tuple', items: [] });
    }
  }
  if (suppressedCalls > 0) {
    emit({ ruleId: 'RMP-PICKLE-004', message: `${suppressedCalls} more calls not listed`, location: { offset: run.start }, details: { more: suppressedCalls } }, 'high');
  }

  for (const b of run.builds) {
    if (b.target.t === 'global') {
      const sev: Severity = b.target.verdict.klass === 'allowed' ? 'high' : 'critical';
      emit({ ruleId: 'RMP-PICKLE-006', message: `BUILD sets state on the imported global ${b.target.name}`, location: { offset: b.off }, details: { global: b.target.name, state: describe(b.state) } }, sev);
    }
  }

  let badPids = 0;
  let firstPid = -1;
  for (const p of run.persids) {
    if (!inRange(p.off)) continue;
    const isStorage = p.pid.t === 'tuple' && p.pid.items[0]?.t === 'str' && p.pid.items[0].v === 'storage';
    if (o.loader === 'torch' && isStorage) continue;
    if (firstPid < 0) firstPid = p.off;
    badPids++;
  }
  if (badPids > 0) {
    const sev: Severity = o.loader === 'torch' ? 'medium' : 'low';
    emit({ ruleId: 'RMP-PICKLE-007', message: `${badPids} persistent id(s)${o.loader === 'torch' ? ' that are not PyTorch storages' : ''}`, location: { offset: firstPid }, details: { count: badPids } }, sev);
  }
  for (const e of run.exts) {
    emit({ ruleId: 'RMP-PICKLE-008', message: `imports extension code ${e.code} from the copyreg registry`, location: { offset: e.off }, details: { code: e.code } }, 'high');
  }
  for (const d of run.dynamicGlobals) {
    emit({ ruleId: 'RMP-PICKLE-013', message: `STACK_GLOBAL imports ${describe(d.module)}.${describe(d.name)} computed at load time`, location: { offset: d.off } }, 'critical');
  }
  if (run.frameIssues.length > 0) {
    const f = run.frameIssues[0]!;
    emit({ ruleId: 'RMP-PICKLE-015', message: f.reason, location: { offset: f.off }, details: { count: run.frameIssues.length } }, 'low');
  }
  if (run.buffers.length > 0) {
    emit({ ruleId: 'RMP-PICKLE-016', message: `${run.buffers.length} out-of-band buffer(s)`, location: { offset: run.buffers[0]! } }, 'low');
  }
  if (!run.ok && run.error && !o.ignoreBreak) {
    const sev: Severity = severityRank(worst) >= severityRank('medium') ? 'high' : 'medium';
    emit(
      { ruleId: 'RMP-PICKLE-009', message: `pickle breaks at offset ${run.error.off}: ${run.error.reason}`, location: { offset: run.error.off }, details: { reason: run.error.reason, opcode: run.error.opcode, pickleStart: run.start } },
      sev,
    );
  }
  return worst;
}
