// The registry of built-in detectors: one explicit list, built from the validated parameters.
import { z } from 'zod';
import { NewNetworkDetector, OffHoursDetector, newNetworkSchema, offHoursSchema } from './access.js';
import { BurstDetector, authBurstSchema, denyBurstSchema } from './bursts.js';
import { InputDriftDetector, OutputDriftDetector, inputDriftSchema, outputDriftSchema } from './drift.js';
import { EnumerationDetector, enumerationSchema } from './enumeration.js';
import { GuardVerdictDetector, guardVerdictsSchema } from './guards.js';
import type { Detector } from './types.js';
import { UpstreamDetector, upstreamSchema } from './upstream.js';
import { VolumeDetector, exfiltrationSchema, requestVolumeSchema } from './volume.js';

export type { Detector, Detection } from './types.js';

export const detectorsSchema = z
  .object({
    requestVolume: requestVolumeSchema.default({}),
    exfiltration: exfiltrationSchema.default({}),
    authFailureBurst: authBurstSchema.default({}),
    authzDenyBurst: denyBurstSchema.default({}),
    newNetwork: newNetworkSchema.default({}),
    offHours: offHoursSchema.default({}),
    enumeration: enumerationSchema.default({}),
    upstreamHealth: upstreamSchema.default({}),
    outputDrift: outputDriftSchema.default({}),
    inputDrift: inputDriftSchema.default({}),
    guardVerdicts: guardVerdictsSchema.default({}),
  })
  .strict()
  .default({});
export type DetectorsConfig = z.output<typeof detectorsSchema>;

/** Instantiates the enabled built-in detectors. */
export function createDetectors(cfg: DetectorsConfig): Detector[] {
  const all: [boolean, () => Detector][] = [
    [cfg.requestVolume.enabled, () => new VolumeDetector('request-volume', cfg.requestVolume)],
    [cfg.exfiltration.enabled, () => new VolumeDetector('exfiltration', cfg.exfiltration)],
    [cfg.authFailureBurst.enabled, () => new BurstDetector('auth-failure-burst', cfg.authFailureBurst)],
    [cfg.authzDenyBurst.enabled, () => new BurstDetector('authz-deny-burst', cfg.authzDenyBurst)],
    [cfg.newNetwork.enabled, () => new NewNetworkDetector(cfg.newNetwork)],
    [cfg.offHours.enabled, () => new OffHoursDetector(cfg.offHours)],
    [cfg.enumeration.enabled, () => new EnumerationDetector(cfg.enumeration)],
    [cfg.upstreamHealth.enabled, () => new UpstreamDetector(cfg.upstreamHealth)],
    [cfg.outputDrift.enabled, () => new OutputDriftDetector(cfg.outputDrift)],
    [cfg.inputDrift.enabled, () => new InputDriftDetector(cfg.inputDrift)],
    [cfg.guardVerdicts.enabled, () => new GuardVerdictDetector(cfg.guardVerdicts)],
  ];
  return all.filter(([on]) => on).map(([, make]) => make());
}
