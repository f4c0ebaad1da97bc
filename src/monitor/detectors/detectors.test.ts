// Every built-in detector on seeded simulated traffic: fires on each injected incident within one
// evaluation window, and stays (nearly) quiet on the benign traffic around it.
import { describe, expect, it } from 'vitest';
import { detectorsSchema, createDetectors } from './index.js';
import { evaluate, runDetectors, simulate, INCIDENT_TYPES } from '../simulate.js';

describe('built-in detectors on simulated traffic', () => {
  it('catch every incident type and keep false alerts at or below one per day', () => {
    const sim = simulate({ seed: 7, days: 5, principals: 24, incidentsPerType: 1, incidentsFromDay: 3, predictionIntervalMs: 4000 });
    const dets = runDetectors(sim, createDetectors(detectorsSchema.parse({})));
    const res = evaluate(sim, dets, 15 * 60_000);
    const missed = INCIDENT_TYPES.filter((t) => res.perType[t]!.recall < 1);
    const falses = dets.filter((d) => !sim.incidents.some((i) => d.time >= i.start && d.time <= i.end + 15 * 60_000 && Object.entries(i.subject).some(([k, v]) => d.subject[k] === v)));
    expect({ missed, falses: res.falseAlertsPerDay <= 1 ? [] : falses.map((d) => d.title) }).toEqual({ missed: [], falses: [] });
  });
});
