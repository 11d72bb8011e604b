/**
 * The entropy profile dU/dT(SOC): one estimate per SOC point, each point a segment of records holding the
 * SOC-setting current step(s) followed by the rest the estimator reads. SOC is placed from the charge actually
 * removed since the full charge, against the cell's measured capacity — not from the recipe's nominal
 * percentages, which on an aged cell would land elsewhere.
 * Points outside the SOC window (default 5–95 %) are measured but not used: there the OCV and dU/dT change so
 * steeply with SOC (graphite's dU/dT peak near empty, the OCV knees at both ends) that a 1 % SOC error is worth more
 * than the whole ±0.02 mV/K budget, and a SOC step that ran into a voltage limit lands there on weak cells.
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { throughput } from "../imprint/capacity.ts";
import { EntropyError, restTrace, type DudtEstimate, type EntropyMethod } from "./dudt.ts";
import { estimateDudtFast, type FastEstimatorOptions } from "./fast-estimator.ts";
import { estimateDudtPotentiometric, type PotentiometricOptions } from "./potentiometric-reference.ts";

export interface EntropyPoint extends DudtEstimate {
  /** state of charge (0..1) against the measured capacity */
  soc: number;
  /** charge removed since the full charge when the rest began [Ah] */
  dischargedAh: number;
}

export interface ExcludedEntropyPoint {
  soc: number;
  reason: string;
}

export interface EntropyProfile {
  method: EntropyMethod;
  /** the points inside the SOC window, in the order the recipe visits them */
  points: EntropyPoint[];
  /** points measured outside the SOC window (or whose rest gave no estimate), with the reason; not used */
  excluded?: ExcludedEntropyPoint[];
  /** channel time spent in the entropy segments (SOC setting + rests) [s] */
  equipmentTimeS: number;
}

export interface EntropyProfileOptions {
  method: EntropyMethod;
  /** measured (discharge) capacity the SOC is placed against [Ah] */
  capacityAh: number;
  /** charge already removed since the full charge when the first segment starts [Ah]; default 0 */
  startDischargedAh?: number;
  /** |current| at or below which a record counts as rest [A]; default 1 mA */
  restCurrentA?: number;
  /** SOC range [lo, hi] of the points that are kept; default [0.05, 0.95] */
  socWindow?: readonly [number, number];
  fast?: FastEstimatorOptions;
  potentiometric?: PotentiometricOptions;
}

export const DEFAULT_SOC_WINDOW: readonly [number, number] = [0.05, 0.95];

export function entropyProfile(segments: readonly (readonly ChannelRecord[])[], options: EntropyProfileOptions): EntropyProfile {
  if (segments.length === 0) throw new EntropyError("entropy profile: no entropy segments");
  if (!(options.capacityAh > 0)) throw new EntropyError(`entropy profile: capacity ${options.capacityAh} Ah is not positive`);
  const [socLo, socHi] = options.socWindow ?? DEFAULT_SOC_WINDOW;
  let dischargedAh = options.startDischargedAh ?? 0;
  let equipmentTimeS = 0;
  const points: EntropyPoint[] = [];
  const excluded: ExcludedEntropyPoint[] = [];
  segments.forEach((records, k) => {
    const what = `entropy segment ${k + 1} of ${segments.length}`;
    if (records.length === 0) throw new EntropyError(`${what}: no records`);
    const moved = throughput(records);
    dischargedAh += moved.dischargeAh - moved.chargeAh;
    equipmentTimeS += records[records.length - 1].testTimeS - records[0].testTimeS;
    const soc = 1 - dischargedAh / options.capacityAh;
    if (soc < socLo || soc > socHi) {
      excluded.push({ soc, reason: `SOC ${(soc * 100).toFixed(1)} % is outside the ${socLo * 100}–${socHi * 100} % window` });
      return;
    }
    const trace = restTrace(records, options.restCurrentA ?? 1e-3, what);
    const estimate =
      options.method === "fast-relaxation-fit"
        ? estimateDudtFast(trace, what, options.fast)
        : estimateDudtPotentiometric(trace, what, options.potentiometric);
    points.push({ ...estimate, soc, dischargedAh });
  });
  if (points.length === 0) throw new EntropyError(`entropy profile: no point inside the SOC window (${excluded.map((e) => e.reason).join("; ")})`);
  return { method: options.method, points, excluded, equipmentTimeS };
}
