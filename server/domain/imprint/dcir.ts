/**
 * DC internal resistance from a two-level current pulse, IEC 61960-3:2017 §7.7.2 ("DC internal resistance"):
 * discharge at I1 = 0.2 C for 10 s, then at I2 = 1 C for 1 s; R_dc = (U1 − U2)/(I2 − I1) with U1, U2 read at the
 * end of each level. With the sign convention charge > 0 this is R = (V1 − V2)/(I1 − I2) for charge and discharge
 * pulses alike. The 10 s resistance uses the relaxed rest voltage before the pulse: R10s = (V1 − V0)/I1.
 * Uncertainty: each reading carries the instrument's standard uncertainty; a difference of two readings has √2 of
 * it, combined in quadrature (GUM, JCGM 100:2008 §5.1). Systematic gain errors cancel in neither ratio and are not
 * included: state the instrument's accuracy class alongside.
 */
import type { ChannelRecord } from "../equipment/channel.ts";
import { ImprintError, type Measured } from "./measured.ts";

export interface MeasurementUncertainty {
  /** standard uncertainty of one voltage reading [V] */
  voltageV: number;
  /** standard uncertainty of one current reading [A] */
  currentA: number;
}

/** Simulated equipment per DESIGN §5: ±0.1 mV, ±0.02 % of a 10 A full scale. */
export const DEFAULT_MEASUREMENT_UNCERTAINTY: Readonly<MeasurementUncertainty> = Object.freeze({ voltageV: 1e-4, currentA: 2e-3 });

export interface PulseResistance {
  dcirMilliohm: Measured;
  r10sMilliohm: Measured;
  /** the readings used */
  restVoltageV: number;
  level1: { voltageV: number; currentA: number; timeS: number };
  level2: { voltageV: number; currentA: number; timeS: number };
}

function resistanceMilliohm(dV: number, dI: number, u: MeasurementUncertainty): Measured {
  const r = dV / dI;
  const uDv = Math.SQRT2 * u.voltageV;
  const uDi = Math.SQRT2 * u.currentA;
  const uR = Math.sqrt((uDv / dI) ** 2 + ((r * uDi) / dI) ** 2);
  return { value: r * 1000, uncertainty: uR * 1000 };
}

/** The two current levels of a pulse step: split where the current crosses halfway from the first to the last level. */
function splitLevels(pulse: readonly ChannelRecord[], what: string): [ChannelRecord, ChannelRecord] {
  if (pulse.length < 2) throw new ImprintError(`${what}: the pulse has ${pulse.length} record(s); log it every ≤ 0.1 s`);
  const first = pulse[0].currentA;
  const last = pulse[pulse.length - 1].currentA;
  const mid = (first + last) / 2;
  const boundary = pulse.findIndex((r) => Math.abs(r.currentA - first) > Math.abs(mid - first));
  if (Math.abs(last - first) < 1e-6 || boundary <= 0) {
    throw new ImprintError(`${what}: the pulse shows one current level (${first.toFixed(4)} A → ${last.toFixed(4)} A); expected two`);
  }
  return [pulse[boundary - 1], pulse[pulse.length - 1]];
}

export function pulseResistance(
  restBefore: readonly ChannelRecord[],
  pulse: readonly ChannelRecord[],
  uncertainty: MeasurementUncertainty = DEFAULT_MEASUREMENT_UNCERTAINTY,
  what = "dcir",
): PulseResistance {
  if (restBefore.length === 0) throw new ImprintError(`${what}: no rest records before the pulse`);
  const v0 = restBefore[restBefore.length - 1].voltageV;
  const [end1, end2] = splitLevels(pulse, what);
  const t0 = pulse[0].testTimeS;
  return {
    dcirMilliohm: resistanceMilliohm(end1.voltageV - end2.voltageV, end1.currentA - end2.currentA, uncertainty),
    r10sMilliohm: resistanceMilliohm(end1.voltageV - v0, end1.currentA, uncertainty),
    restVoltageV: v0,
    level1: { voltageV: end1.voltageV, currentA: end1.currentA, timeS: end1.testTimeS - t0 },
    level2: { voltageV: end2.voltageV, currentA: end2.currentA, timeS: end2.testTimeS - t0 },
  };
}
