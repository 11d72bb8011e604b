/**
 * The entropy profile dU/dT(SOC): one estimate per SOC point, each point a segment of records holding the
 * SOC-setting current step(s) followed by the rest the estimator reads. SOC is placed from the charge actually
 * removed since the full charge, against the cell's measured capacity — not from the recipe's nominal
 * percentages, which on an aged cell would land elsewhere.
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

export interface EntropyProfile {
  method: EntropyMethod;
  /** ordered by descending SOC (the order a discharge visits them) */
  points: EntropyPoint[];
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
  fast?: FastEstimatorOptions;
  potentiometric?: PotentiometricOptions;
}

export function entropyProfile(segments: readonly (readonly ChannelRecord[])[], options: EntropyProfileOptions): EntropyProfile {
  if (segments.length === 0) throw new EntropyError("entropy profile: no entropy segments");
  if (!(options.capacityAh > 0)) throw new EntropyError(`entropy profile: capacity ${options.capacityAh} Ah is not positive`);
  let dischargedAh = options.startDischargedAh ?? 0;
  let equipmentTimeS = 0;
  const points = segments.map((records, k) => {
    const what = `entropy segment ${k + 1} of ${segments.length}`;
    if (records.length === 0) throw new EntropyError(`${what}: no records`);
    const moved = throughput(records);
    dischargedAh += moved.dischargeAh - moved.chargeAh;
    equipmentTimeS += records[records.length - 1].testTimeS - records[0].testTimeS;
    const trace = restTrace(records, options.restCurrentA ?? 1e-3, what);
    const estimate =
      options.method === "fast-relaxation-fit"
        ? estimateDudtFast(trace, what, options.fast)
        : estimateDudtPotentiometric(trace, what, options.potentiometric);
    return { ...estimate, soc: 1 - dischargedAh / options.capacityAh, dischargedAh };
  });
  return { method: options.method, points, equipmentTimeS };
}
